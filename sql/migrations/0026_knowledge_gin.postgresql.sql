-- Knowledge base search: the GIN index of the full-text vectors without its pending list
-- (fastupdate off). With the pending list, every search also scanned the entries written since
-- the last VACUUM, linearly; articles are written rarely and searched all day, so each write
-- now updates the index itself. Rebuilt rather than altered: ALTER INDEX ... SET (fastupdate)
-- would keep the entries already pending.
-- postgresql variant; keep in step with the other file of the pair.

-- dialect-specific: SQLite's FTS5 table has no such list (nothing to do there)
DROP INDEX ix_knowledge_fts_search_vector;
CREATE INDEX ix_knowledge_fts_search_vector ON knowledge_fts USING GIN (search_vector) WITH (fastupdate = off);
