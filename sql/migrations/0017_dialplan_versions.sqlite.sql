-- Dialplan editing: every version of the admins' dialplans/ files (all the files, as JSON text:
-- {"default.conf": "..."}), who saved it, when and why; and every apply or rollback on the live
-- Asterisk with its outcome (applied, rolled-back by itself, refused) and how long it took.
-- The running version is the one of the last deployment whose outcome is 'applied'.
-- SQLite variant; keep in step with the other file of the pair.

CREATE TABLE dialplan_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TIMESTAMP NOT NULL,
    author VARCHAR(64) NOT NULL,
    comment VARCHAR(500) NOT NULL DEFAULT '',
    files TEXT NOT NULL
);

CREATE TABLE dialplan_deployments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor VARCHAR(64) NOT NULL,
    action VARCHAR(16) NOT NULL,
    version_id INTEGER NOT NULL,
    previous_version_id INTEGER,
    outcome VARCHAR(16) NOT NULL,
    comment VARCHAR(500) NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    CONSTRAINT ck_dialplan_deployments_action CHECK (action IN ('apply', 'rollback')),
    CONSTRAINT ck_dialplan_deployments_outcome CHECK (outcome IN ('applied', 'rolled-back', 'refused')),
    CONSTRAINT fk_dialplan_deployments_version_id FOREIGN KEY (version_id) REFERENCES dialplan_versions (id),
    CONSTRAINT fk_dialplan_deployments_previous_version_id FOREIGN KEY (previous_version_id) REFERENCES dialplan_versions (id)
);
CREATE INDEX ix_dialplan_deployments_version_id ON dialplan_deployments (version_id);
