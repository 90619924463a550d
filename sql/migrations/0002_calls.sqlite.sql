-- Calls the platform tracks, one row per Asterisk channel uniqueid (upserted as events arrive).
-- SQLite variant (autoincrement ids); keep in step with 0002_calls.postgresql.sql.
-- hangup_cause is the Q.850 cause code Asterisk reports (16 = normal clearing).

CREATE TABLE calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uniqueid VARCHAR(64) NOT NULL,
    linkedid VARCHAR(64),
    channel VARCHAR(255),
    caller_number VARCHAR(64),
    direction VARCHAR(16),
    queue VARCHAR(128),
    agent VARCHAR(64),
    created_at TIMESTAMP NOT NULL,
    answered_at TIMESTAMP,
    ended_at TIMESTAMP,
    outcome VARCHAR(32),
    hangup_cause INTEGER,
    CONSTRAINT uq_calls_uniqueid UNIQUE (uniqueid)
);
CREATE INDEX ix_calls_linkedid ON calls (linkedid);
CREATE INDEX ix_calls_created_at ON calls (created_at);
CREATE INDEX ix_calls_queue_created_at ON calls (queue, created_at);
