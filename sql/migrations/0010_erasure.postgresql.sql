-- GDPR erasure: what the law makes us keep after a person is erased (a do-not-call entry, a
-- consent or refusal, a compliance decision) keeps only a keyed hash (HMAC-SHA256 with the
-- server's erasure key, see ccserver/capabilities/privacy) of the normalized number, never the
-- number. Rows not erased keep number_hash empty.
-- PostgreSQL variant; keep in step with the other file of the pair.

ALTER TABLE dnc_numbers ADD COLUMN number_hash VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE consent_ledger ADD COLUMN number_hash VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE compliance_decisions ADD COLUMN number_hash VARCHAR(64) NOT NULL DEFAULT '';
CREATE INDEX ix_dnc_numbers_number_hash ON dnc_numbers (number_hash);
