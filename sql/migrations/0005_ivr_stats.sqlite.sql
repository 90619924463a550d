-- IVR (SVI) statistics: one counter per day, script, version, node and counter name, added to
-- by the IVR engine's periodic flush (INSERT ... ON CONFLICT DO UPDATE value = value + delta).
-- node '' holds the script-level counters (calls, outcome:<how the call left>); node counters are
-- entered, choice:<key>, timeouts, invalid, exhausted, hangups, errors. day is the UTC date of
-- the flush (YYYY-MM-DD).
-- SQLite variant; keep in step with 0005_ivr_stats.postgresql.sql.

CREATE TABLE ivr_stats (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    day VARCHAR(10) NOT NULL,
    script VARCHAR(100) NOT NULL,
    version VARCHAR(64) NOT NULL,
    node VARCHAR(100) NOT NULL,
    counter VARCHAR(100) NOT NULL,
    value INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_ivr_stats_key UNIQUE (day, script, version, node, counter)
);
CREATE INDEX ix_ivr_stats_script_day ON ivr_stats (script, day);
