-- Call-center settings an admin edits (issue 13): pause codes gain whether the pause is paid
-- and a maximum duration (minutes; 0: no maximum) after which the supervisor is alerted;
-- queues gain the most callers that may wait (Asterisk's maxlen; 0: no limit);
-- outbound campaigns get their own wrap-up (disposition) codes, as queues have theirs.
-- SQLite variant; keep in step with the other file of the pair.

ALTER TABLE pause_reasons ADD COLUMN paid BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE pause_reasons ADD COLUMN max_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN max_callers INTEGER NOT NULL DEFAULT 0;

CREATE TABLE campaign_wrapup_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL,
    code VARCHAR(32) NOT NULL,
    label VARCHAR(100) NOT NULL DEFAULT '',
    CONSTRAINT uq_campaign_wrapup_codes_campaign_code UNIQUE (campaign_id, code),
    CONSTRAINT fk_campaign_wrapup_codes_campaign_id FOREIGN KEY (campaign_id) REFERENCES outbound_campaigns (id) ON DELETE CASCADE
);
