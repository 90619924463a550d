-- Inbound (ACD): skills, agents with their SIP accounts, queues, pause reasons, agent logins and
-- state timeline, callback requests; call records gain the inbound details.
-- SQLite variant; keep in step with the other file of the pair.

CREATE TABLE skills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(32) NOT NULL,
    label VARCHAR(100) NOT NULL DEFAULT '',
    CONSTRAINT uq_skills_name UNIQUE (name)
);

CREATE TABLE agents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    sip_username VARCHAR(32) NOT NULL,
    sip_password VARCHAR(64) NOT NULL,
    team VARCHAR(64) NOT NULL DEFAULT '',
    skills TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_agents_user_id UNIQUE (user_id),
    CONSTRAINT uq_agents_sip_username UNIQUE (sip_username),
    CONSTRAINT fk_agents_user_id FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE queues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(32) NOT NULL,
    display_name VARCHAR(100) NOT NULL DEFAULT '',
    strategy VARCHAR(16) NOT NULL DEFAULT 'rrmemory',
    required_skills TEXT NOT NULL DEFAULT '{}',
    service_level_seconds INTEGER NOT NULL DEFAULT 20,
    service_level_target_pct INTEGER NOT NULL DEFAULT 80,
    wrapup_seconds INTEGER NOT NULL DEFAULT 0,
    ring_seconds INTEGER NOT NULL DEFAULT 15,
    max_wait_seconds INTEGER NOT NULL DEFAULT 0,
    overflow_kind VARCHAR(16) NOT NULL DEFAULT 'none',
    overflow_target VARCHAR(64) NOT NULL DEFAULT '',
    announce_position BOOLEAN NOT NULL DEFAULT TRUE,
    announce_holdtime BOOLEAN NOT NULL DEFAULT TRUE,
    announce_frequency_seconds INTEGER NOT NULL DEFAULT 30,
    numbers TEXT NOT NULL DEFAULT '[]',
    callback_key VARCHAR(1) NOT NULL DEFAULT '',
    hours TEXT NOT NULL DEFAULT '{}',
    timezone VARCHAR(64) NOT NULL DEFAULT 'Europe/Paris',
    holidays VARCHAR(16) NOT NULL DEFAULT 'FR',
    closed_message VARCHAR(128) NOT NULL DEFAULT '',
    dispositions TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_queues_name UNIQUE (name)
);

CREATE TABLE pause_reasons (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code VARCHAR(32) NOT NULL,
    label VARCHAR(100) NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    CONSTRAINT uq_pause_reasons_code UNIQUE (code)
);

CREATE TABLE agent_logins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id INTEGER NOT NULL,
    queues TEXT NOT NULL DEFAULT '[]',
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    pause_reason VARCHAR(32) NOT NULL DEFAULT '',
    logged_in_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_agent_logins_agent_id UNIQUE (agent_id),
    CONSTRAINT fk_agent_logins_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
);

CREATE TABLE agent_state_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent VARCHAR(32) NOT NULL,
    at TIMESTAMP NOT NULL,
    state VARCHAR(16) NOT NULL,
    previous VARCHAR(16) NOT NULL DEFAULT '',
    reason VARCHAR(64) NOT NULL DEFAULT '',
    queue VARCHAR(32) NOT NULL DEFAULT '',
    call_uniqueid VARCHAR(64) NOT NULL DEFAULT ''
);
CREATE INDEX ix_agent_state_log_agent_at ON agent_state_log (agent, at);

CREATE TABLE callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue VARCHAR(32) NOT NULL,
    number VARCHAR(32) NOT NULL,
    caller_uniqueid VARCHAR(64) NOT NULL DEFAULT '',
    entered_queue_at TIMESTAMP NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    status VARCHAR(16) NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    agent VARCHAR(32) NOT NULL DEFAULT '',
    completed_at TIMESTAMP,
    last_error VARCHAR(255) NOT NULL DEFAULT '',
    CONSTRAINT ck_callbacks_status CHECK (status IN ('pending', 'dialing', 'done', 'failed', 'cancelled'))
);
CREATE INDEX ix_callbacks_status_entered ON callbacks (status, entered_queue_at);

ALTER TABLE calls ADD COLUMN overflowed_from VARCHAR(128);
ALTER TABLE calls ADD COLUMN wait_seconds INTEGER;
ALTER TABLE calls ADD COLUMN talk_seconds INTEGER;
ALTER TABLE calls ADD COLUMN hangup_reason VARCHAR(64);
ALTER TABLE calls ADD COLUMN call_data TEXT;
ALTER TABLE calls ADD COLUMN disposition VARCHAR(32);
ALTER TABLE calls ADD COLUMN notes TEXT;
ALTER TABLE calls ADD COLUMN customer_id INTEGER;
