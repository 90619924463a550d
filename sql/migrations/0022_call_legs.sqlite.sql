-- Call legs: every agent who handled a call (the queue's agent, the agent a call was
-- transferred to, the third party of a three-way call), how long each talked with the customer
-- and held them, how each got the call (queue, click_to_dial, blind_transfer,
-- attended_transfer, three_way) and how each let it go (hangup, transferred, left). One row per
-- (call, seq), upserted as legs start and end; call_uniqueid is calls.uniqueid.
-- sqlite variant; keep in step with the other file of the pair.

CREATE TABLE call_legs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_uniqueid VARCHAR(64) NOT NULL,
    linkedid VARCHAR(64) NOT NULL,
    seq INTEGER NOT NULL,
    agent VARCHAR(64) NOT NULL,
    interface VARCHAR(128) NOT NULL,
    channel VARCHAR(255) NOT NULL,
    started_at TIMESTAMP NOT NULL,
    answered_at TIMESTAMP,
    ended_at TIMESTAMP,
    talk_seconds INTEGER NOT NULL DEFAULT 0,
    hold_seconds INTEGER NOT NULL DEFAULT 0,
    started_how VARCHAR(32) NOT NULL,
    ended_how VARCHAR(32),
    transferred_by VARCHAR(64),
    CONSTRAINT uq_call_legs_call_seq UNIQUE (call_uniqueid, seq)
);
CREATE INDEX ix_call_legs_agent_started_at ON call_legs (agent, started_at);
