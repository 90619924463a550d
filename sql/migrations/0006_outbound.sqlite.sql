-- Outbound campaigns (French canvassing rules): campaigns and their agents, contact lists and their
-- imports, dial attempts, the compliance decisions the dialer took (the proof), the consent
-- ledger, the company's do-not-call list and the Bloctel opposition lists.
-- Numbers are stored by their national significant number (nsn: the 9 digits after the trunk 0,
-- see ccserver/capabilities/outbound/numbers.py) next to their national writing.
-- Attempts and decisions carry no foreign key on purpose: deleting a campaign must neither erase
-- the history the 4-in-30-days rule counts nor the proof the compliance officer exports.
-- SQLite variant; keep in step with 0006_outbound.postgresql.sql.

CREATE TABLE outbound_campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    mode VARCHAR(16) NOT NULL DEFAULT 'progressive',
    status VARCHAR(16) NOT NULL DEFAULT 'draft',
    caller_ids TEXT NOT NULL DEFAULT '[]',
    amd BOOLEAN NOT NULL DEFAULT FALSE,
    abandon_cap_permille INTEGER NOT NULL DEFAULT 30,
    ring_seconds INTEGER NOT NULL DEFAULT 25,
    max_attempts INTEGER NOT NULL DEFAULT 4,
    retry_busy_minutes INTEGER NOT NULL DEFAULT 15,
    retry_no_answer_minutes INTEGER NOT NULL DEFAULT 120,
    retry_machine_minutes INTEGER NOT NULL DEFAULT 240,
    retry_abandoned_minutes INTEGER NOT NULL DEFAULT 60,
    retry_congestion_minutes INTEGER NOT NULL DEFAULT 5,
    abandon_message VARCHAR(128) NOT NULL DEFAULT 'please-try-call-later',
    machine_message VARCHAR(128) NOT NULL DEFAULT '',
    bloctel_scrubbed_at TIMESTAMP,
    created_by VARCHAR(64) NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_outbound_campaigns_name UNIQUE (name),
    CONSTRAINT ck_outbound_campaigns_mode CHECK (mode IN ('preview', 'progressive', 'predictive')),
    CONSTRAINT ck_outbound_campaigns_status CHECK (status IN ('draft', 'running', 'paused', 'finished'))
);

CREATE TABLE outbound_campaign_agents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL,
    username VARCHAR(64) NOT NULL,
    CONSTRAINT uq_outbound_campaign_agents UNIQUE (campaign_id, username),
    CONSTRAINT fk_outbound_campaign_agents_campaign FOREIGN KEY (campaign_id) REFERENCES outbound_campaigns (id) ON DELETE CASCADE
);

CREATE TABLE outbound_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL,
    filename VARCHAR(255) NOT NULL DEFAULT '',
    status VARCHAR(16) NOT NULL DEFAULT 'preview',
    encoding VARCHAR(32) NOT NULL DEFAULT '',
    total_lines INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    report TEXT NOT NULL DEFAULT '{}',
    payload TEXT NOT NULL DEFAULT '[]',
    created_by VARCHAR(64) NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    committed_at TIMESTAMP,
    CONSTRAINT ck_outbound_imports_status CHECK (status IN ('preview', 'committed', 'cancelled')),
    CONSTRAINT fk_outbound_imports_campaign FOREIGN KEY (campaign_id) REFERENCES outbound_campaigns (id) ON DELETE CASCADE
);

CREATE TABLE outbound_contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL,
    nsn INTEGER NOT NULL,
    number VARCHAR(16) NOT NULL,
    name VARCHAR(200) NOT NULL DEFAULT '',
    postcode VARCHAR(5) NOT NULL DEFAULT '',
    area VARCHAR(16) NOT NULL DEFAULT '',
    timezone VARCHAR(64) NOT NULL DEFAULT '',
    area_source VARCHAR(16) NOT NULL DEFAULT '',
    fields TEXT NOT NULL DEFAULT '{}',
    contract BOOLEAN NOT NULL DEFAULT FALSE,
    outside_hours_consent BOOLEAN NOT NULL DEFAULT FALSE,
    status VARCHAR(16) NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    last_outcome VARCHAR(16) NOT NULL DEFAULT '',
    blocked_rule VARCHAR(64) NOT NULL DEFAULT '',
    callback_agent VARCHAR(64) NOT NULL DEFAULT '',
    reserved_by VARCHAR(64) NOT NULL DEFAULT '',
    reserved_until TIMESTAMP,
    bloctel_opposed BOOLEAN,
    bloctel_checked_at TIMESTAMP,
    import_id INTEGER,
    source_line INTEGER,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_outbound_contacts_campaign_nsn UNIQUE (campaign_id, nsn),
    CONSTRAINT ck_outbound_contacts_status CHECK (status IN ('pending', 'dialing', 'reserved', 'callback', 'done', 'exhausted', 'blocked')),
    CONSTRAINT fk_outbound_contacts_campaign FOREIGN KEY (campaign_id) REFERENCES outbound_campaigns (id) ON DELETE CASCADE
);
CREATE INDEX ix_outbound_contacts_due ON outbound_contacts (campaign_id, status, next_attempt_at);
CREATE INDEX ix_outbound_contacts_nsn ON outbound_contacts (nsn);

CREATE TABLE outbound_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    nsn INTEGER NOT NULL,
    number VARCHAR(16) NOT NULL,
    caller_id VARCHAR(16) NOT NULL DEFAULT '',
    mode VARCHAR(16) NOT NULL DEFAULT '',
    agent VARCHAR(64) NOT NULL DEFAULT '',
    uniqueid VARCHAR(64) NOT NULL DEFAULT '',
    decision_id INTEGER,
    started_at TIMESTAMP NOT NULL,
    answered_at TIMESTAMP,
    connected_at TIMESTAMP,
    ended_at TIMESTAMP,
    outcome VARCHAR(16) NOT NULL DEFAULT 'dialing',
    amd_result VARCHAR(16) NOT NULL DEFAULT '',
    hangup_cause INTEGER,
    talk_seconds INTEGER,
    refused BOOLEAN NOT NULL DEFAULT FALSE,
    disposition VARCHAR(32) NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ix_outbound_attempts_nsn_started ON outbound_attempts (nsn, started_at);
CREATE INDEX ix_outbound_attempts_campaign_started ON outbound_attempts (campaign_id, started_at);
CREATE INDEX ix_outbound_attempts_contact ON outbound_attempts (contact_id);
CREATE INDEX ix_outbound_attempts_uniqueid ON outbound_attempts (uniqueid);

CREATE TABLE compliance_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    campaign_id INTEGER,
    contact_id INTEGER,
    attempt_id INTEGER,
    number VARCHAR(32) NOT NULL,
    nsn INTEGER,
    actor VARCHAR(64) NOT NULL,
    purpose VARCHAR(16) NOT NULL,
    allowed BOOLEAN NOT NULL,
    failed_rules VARCHAR(255) NOT NULL DEFAULT '',
    regime VARCHAR(16) NOT NULL DEFAULT '',
    timezone VARCHAR(64) NOT NULL DEFAULT '',
    local_time VARCHAR(40) NOT NULL DEFAULT '',
    decision TEXT NOT NULL
);
CREATE INDEX ix_compliance_decisions_at ON compliance_decisions (at);
CREATE INDEX ix_compliance_decisions_contact_at ON compliance_decisions (contact_id, at);
CREATE INDEX ix_compliance_decisions_campaign_at ON compliance_decisions (campaign_id, at);
CREATE INDEX ix_compliance_decisions_nsn_at ON compliance_decisions (nsn, at);

CREATE TABLE consent_ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    nsn INTEGER NOT NULL,
    number VARCHAR(16) NOT NULL,
    scope VARCHAR(16) NOT NULL,
    action VARCHAR(16) NOT NULL,
    at TIMESTAMP NOT NULL,
    source VARCHAR(64) NOT NULL DEFAULT '',
    proof_ref VARCHAR(255) NOT NULL DEFAULT '',
    campaign_id INTEGER,
    attempt_id INTEGER,
    recorded_by VARCHAR(64) NOT NULL DEFAULT '',
    recorded_at TIMESTAMP NOT NULL,
    CONSTRAINT ck_consent_ledger_scope CHECK (scope IN ('canvassing', 'outside_hours')),
    CONSTRAINT ck_consent_ledger_action CHECK (action IN ('grant', 'revoke', 'refusal'))
);
CREATE INDEX ix_consent_ledger_nsn_scope_at ON consent_ledger (nsn, scope, at);

CREATE TABLE dnc_numbers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    nsn INTEGER NOT NULL,
    number VARCHAR(16) NOT NULL,
    reason VARCHAR(255) NOT NULL DEFAULT '',
    source VARCHAR(64) NOT NULL DEFAULT '',
    added_by VARCHAR(64) NOT NULL DEFAULT '',
    added_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_dnc_numbers_nsn UNIQUE (nsn)
);

CREATE TABLE opposition_lists (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind VARCHAR(16) NOT NULL,
    campaign_id INTEGER,
    source VARCHAR(255) NOT NULL DEFAULT '',
    scrubbed_at TIMESTAMP NOT NULL,
    imported_by VARCHAR(64) NOT NULL DEFAULT '',
    imported_at TIMESTAMP NOT NULL,
    numbers INTEGER NOT NULL DEFAULT 0,
    lines INTEGER NOT NULL DEFAULT 0,
    invalid_lines INTEGER NOT NULL DEFAULT 0,
    path VARCHAR(500) NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    CONSTRAINT ck_opposition_lists_kind CHECK (kind IN ('bloctel', 'bloctel-scrub'))
);
CREATE INDEX ix_opposition_lists_kind_active ON opposition_lists (kind, active);
