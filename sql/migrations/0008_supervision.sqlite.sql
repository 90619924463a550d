-- Supervision: which queues and teams each supervisor is given (admins see everything).
-- SQLite variant; keep in step with the other file of the pair.

CREATE TABLE supervisor_scopes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    kind VARCHAR(8) NOT NULL,
    value VARCHAR(64) NOT NULL,
    CONSTRAINT uq_supervisor_scopes UNIQUE (user_id, kind, value),
    CONSTRAINT ck_supervisor_scopes_kind CHECK (kind IN ('queue', 'team')),
    CONSTRAINT fk_supervisor_scopes_user_id FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
