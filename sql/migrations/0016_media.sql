-- Media: prompts uploaded by admins (per language), music on hold classes and their files, and
-- each queue's language, music class, prompts and closed days. The audio itself is in files
-- Asterisk reads (converted to 8 kHz mono WAV); these rows say what exists, who put it there.
-- Natural keys only (no generated ids): one portable file for both databases.

CREATE TABLE media_prompts (
    language VARCHAR(16) NOT NULL,
    name VARCHAR(48) NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    source_name VARCHAR(255) NOT NULL DEFAULT '',
    uploaded_by VARCHAR(64) NOT NULL DEFAULT '',
    uploaded_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_media_prompts PRIMARY KEY (language, name)
);

CREATE TABLE media_moh_classes (
    name VARCHAR(32) NOT NULL,
    created_by VARCHAR(64) NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_media_moh_classes PRIMARY KEY (name)
);

CREATE TABLE media_moh_files (
    class_name VARCHAR(32) NOT NULL,
    name VARCHAR(48) NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    source_name VARCHAR(255) NOT NULL DEFAULT '',
    uploaded_by VARCHAR(64) NOT NULL DEFAULT '',
    uploaded_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_media_moh_files PRIMARY KEY (class_name, name),
    CONSTRAINT fk_media_moh_files_class FOREIGN KEY (class_name) REFERENCES media_moh_classes (name)
);

-- closed_days: JSON list of {"day": "YYYY-MM-DD", "label": "..."}
CREATE TABLE media_queue_settings (
    queue VARCHAR(32) NOT NULL,
    language VARCHAR(16) NOT NULL DEFAULT '',
    music_class VARCHAR(32) NOT NULL DEFAULT '',
    welcome_prompt VARCHAR(48) NOT NULL DEFAULT '',
    closed_prompt VARCHAR(48) NOT NULL DEFAULT '',
    closed_days TEXT NOT NULL DEFAULT '[]',
    updated_by VARCHAR(64) NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_media_queue_settings PRIMARY KEY (queue)
);

-- an outbound campaign's language (its customers hear the abandon and machine messages in it);
-- '' = the server's default (setting asterisk.language)
ALTER TABLE outbound_campaigns ADD COLUMN language VARCHAR(16) NOT NULL DEFAULT '';
