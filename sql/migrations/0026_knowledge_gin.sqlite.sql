-- Knowledge base search: the GIN index of the full-text vectors without its pending list
-- (fastupdate off). With the pending list, every search also scanned the entries written since
-- the last VACUUM, linearly; articles are written rarely and searched all day, so each write
-- now updates the index itself. Rebuilt rather than altered: ALTER INDEX ... SET (fastupdate)
-- would keep the entries already pending.
-- sqlite variant; keep in step with the other file of the pair.

-- dialect-specific: SQLite's FTS5 table has no such list (nothing to do there)
