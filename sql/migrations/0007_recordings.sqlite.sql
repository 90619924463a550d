-- Recording, retention and quality review: each queue gets a recording policy and a retention
-- (0 days keeps recordings for ever), campaigns get theirs in a side table (keyed by campaign id,
-- no foreign key: the recording capability does not depend on the outbound schema), one row per
-- recording with its metadata, quality grids and the evaluations made with them.
-- SQLite variant; keep in step with the other file of the pair.

ALTER TABLE queues ADD COLUMN recording_policy VARCHAR(16) NOT NULL DEFAULT 'always';
ALTER TABLE queues ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 180;

CREATE TABLE campaign_recording_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL,
    policy VARCHAR(16) NOT NULL DEFAULT 'always',
    retention_days INTEGER NOT NULL DEFAULT 180,
    updated_by VARCHAR(64) NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_campaign_recording_policies_campaign_id UNIQUE (campaign_id),
    CONSTRAINT ck_campaign_recording_policies_policy CHECK (policy IN ('always', 'on_demand', 'never'))
);

CREATE TABLE recordings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_uniqueid VARCHAR(64) NOT NULL,
    linkedid VARCHAR(64) NOT NULL DEFAULT '',
    channel VARCHAR(255) NOT NULL DEFAULT '',
    agent VARCHAR(64) NOT NULL DEFAULT '',
    queue VARCHAR(128) NOT NULL DEFAULT '',
    customer_id INTEGER,
    policy VARCHAR(16) NOT NULL DEFAULT 'always',
    status VARCHAR(16) NOT NULL DEFAULT 'recording',
    started_by VARCHAR(64) NOT NULL DEFAULT '',
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    duration_ms INTEGER,
    size_bytes BIGINT,
    sha256 VARCHAR(64),
    spool_name VARCHAR(255) NOT NULL DEFAULT '',
    path VARCHAR(500),
    encrypted BOOLEAN NOT NULL DEFAULT FALSE,
    pauses TEXT NOT NULL DEFAULT '[]',
    retention_days INTEGER NOT NULL DEFAULT 0,
    error VARCHAR(255) NOT NULL DEFAULT '',
    CONSTRAINT ck_recordings_status CHECK (status IN ('recording', 'paused', 'stored', 'empty', 'failed'))
);
CREATE INDEX ix_recordings_call_uniqueid ON recordings (call_uniqueid);
CREATE INDEX ix_recordings_started_at ON recordings (started_at);
CREATE INDEX ix_recordings_agent_started_at ON recordings (agent, started_at);
CREATE INDEX ix_recordings_queue_started_at ON recordings (queue, started_at);
CREATE INDEX ix_recordings_customer_id ON recordings (customer_id);
CREATE INDEX ix_recordings_status ON recordings (status);

CREATE TABLE qa_grids (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(100) NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    definition TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_by VARCHAR(64) NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_qa_grids_name UNIQUE (name)
);

CREATE TABLE qa_evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grid_id INTEGER NOT NULL,
    grid_version INTEGER NOT NULL,
    grid_snapshot TEXT NOT NULL,
    recording_id INTEGER,
    call_uniqueid VARCHAR(64) NOT NULL DEFAULT '',
    agent VARCHAR(64) NOT NULL,
    queue VARCHAR(128) NOT NULL DEFAULT '',
    evaluator VARCHAR(64) NOT NULL,
    answers TEXT NOT NULL DEFAULT '{}',
    score DOUBLE PRECISION NOT NULL,
    fatal BOOLEAN NOT NULL DEFAULT FALSE,
    comment TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    CONSTRAINT fk_qa_evaluations_grid_id FOREIGN KEY (grid_id) REFERENCES qa_grids (id),
    CONSTRAINT fk_qa_evaluations_recording_id FOREIGN KEY (recording_id) REFERENCES recordings (id) ON DELETE SET NULL
);
CREATE INDEX ix_qa_evaluations_agent_created_at ON qa_evaluations (agent, created_at);
CREATE INDEX ix_qa_evaluations_grid_id ON qa_evaluations (grid_id);
CREATE INDEX ix_qa_evaluations_recording_id ON qa_evaluations (recording_id);
