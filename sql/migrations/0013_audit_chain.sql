-- The audit log becomes a tamper-evident chain: each entry stores the SHA-256 of its predecessor
-- (prev_hash) and its own (entry_hash, over a canonical serialisation that includes prev_hash;
-- ccserver/capabilities/audit/model.py). Rows written before this migration have empty hashes:
-- ccserver chains them ("seal") at start, or `ccserver audit seal`, before the next entry.
-- client_address: the client's IP address (IPv4 or IPv6, normalised; 64 leaves room for a zone).

ALTER TABLE audit_log ADD COLUMN client_address VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN prev_hash VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN entry_hash VARCHAR(64) NOT NULL DEFAULT '';
CREATE INDEX ix_audit_log_actor ON audit_log (actor);
CREATE INDEX ix_audit_log_target ON audit_log (target);
