-- SIP credentials at rest: the agents' (and supervisors' phones') SIP passwords are replaced by
-- the digests Asterisk checks (password_digest = MD5:... / SHA-256:...), each a hash of
-- sip_username:ccserver:password (the realm "ccserver" is fixed); the clear column is dropped.
-- Portable: on SQLite, ccserver registers md5(), sha256(), convert_to() and encode() with
-- PostgreSQL's meaning on every connection (ccserver/adapters/db/database.py).

ALTER TABLE agents ADD COLUMN sip_password_md5 VARCHAR(32) NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN sip_password_sha256 VARCHAR(64) NOT NULL DEFAULT '';
UPDATE agents
   SET sip_password_md5 = md5(sip_username || ':ccserver:' || sip_password),
       sip_password_sha256 = encode(sha256(convert_to(sip_username || ':ccserver:' || sip_password, 'UTF8')), 'hex')
 WHERE sip_password <> '';
ALTER TABLE agents DROP COLUMN sip_password;
