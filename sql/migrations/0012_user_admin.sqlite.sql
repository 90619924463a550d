-- User administration (issue 13): named teams, the last login of each user, and supervisors
-- scoped to outbound campaigns (supervisor_scopes.kind 'campaign', value = the campaign id).
-- SQLite variant; keep in step with the other file of the pair (they differ on id lines only).

CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_teams_name UNIQUE (name)
);

-- the teams agents already belong to become named teams
INSERT INTO teams (name, created_at)
SELECT DISTINCT team, CURRENT_TIMESTAMP FROM agents WHERE team <> '';

ALTER TABLE users ADD COLUMN last_login_at TIMESTAMP NULL;

-- the kind CHECK gains 'campaign': SQLite cannot alter a constraint, so the table is rebuilt
-- (the same statements on both databases; the scope ids are not referenced anywhere)
CREATE TABLE supervisor_scopes_old (
    user_id INTEGER NOT NULL,
    kind VARCHAR(8) NOT NULL,
    value VARCHAR(64) NOT NULL
);
INSERT INTO supervisor_scopes_old (user_id, kind, value)
SELECT user_id, kind, value FROM supervisor_scopes;
DROP TABLE supervisor_scopes;
CREATE TABLE supervisor_scopes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    kind VARCHAR(8) NOT NULL,
    value VARCHAR(64) NOT NULL,
    CONSTRAINT uq_supervisor_scopes UNIQUE (user_id, kind, value),
    CONSTRAINT ck_supervisor_scopes_kind CHECK (kind IN ('queue', 'team', 'campaign')),
    CONSTRAINT fk_supervisor_scopes_user_id FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO supervisor_scopes (user_id, kind, value)
SELECT user_id, kind, value FROM supervisor_scopes_old;
DROP TABLE supervisor_scopes_old;
