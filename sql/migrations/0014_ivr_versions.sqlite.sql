-- IVR script versions kept in the database (issue 13 item 5): every uploaded, file-read or
-- rolled-back version of a script, numbered 1, 2, 3... per script, never rewritten; and which
-- version of each script is active. On start the server runs the active versions; the files
-- of ivr_scripts/ only add a version when their content was never stored for that script.
-- origin: 'file' (read from ivr_scripts/), 'upload' (page, API), 'rollback' (a copy of the
-- content of version rollback_of). checksum: SHA-256 (hex) of content.
-- sqlite variant; keep in step with 0014_ivr_versions.postgresql.sql.

CREATE TABLE ivr_script_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    script VARCHAR(100) NOT NULL,
    number INTEGER NOT NULL,
    label VARCHAR(64) NOT NULL DEFAULT '',
    file VARCHAR(200) NOT NULL DEFAULT '',
    content TEXT NOT NULL,
    checksum VARCHAR(64) NOT NULL,
    author VARCHAR(64) NOT NULL,
    comment VARCHAR(500) NOT NULL DEFAULT '',
    origin VARCHAR(16) NOT NULL,
    rollback_of INTEGER,
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_ivr_script_versions_number UNIQUE (script, number),
    CONSTRAINT ck_ivr_script_versions_origin CHECK (origin IN ('file', 'upload', 'rollback'))
);
CREATE INDEX ix_ivr_script_versions_checksum ON ivr_script_versions (script, checksum);

CREATE TABLE ivr_active_scripts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    script VARCHAR(100) NOT NULL,
    number INTEGER NOT NULL,
    activated_by VARCHAR(64) NOT NULL,
    activated_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_ivr_active_scripts_script UNIQUE (script)
);
