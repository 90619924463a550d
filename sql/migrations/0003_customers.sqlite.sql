-- Customers (the CTI customer file): identity, phone numbers, tickets and interaction history.
-- SQLite variant (autoincrement ids); keep in step with 0003_customers.postgresql.sql.
-- customer_number is the 8-digit id callers type in the IVR (NULL when not known yet);
-- customer_phones.e164 is the normalized number (+33612345678) the screen-pop looks up.
-- interactions/tickets.call_uniqueid name a calls.uniqueid without a foreign key: the call row
-- may be written after them by the batched call writer.

CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_number VARCHAR(8),
    first_name VARCHAR(100) NOT NULL DEFAULT '',
    last_name VARCHAR(100) NOT NULL DEFAULT '',
    company VARCHAR(200) NOT NULL DEFAULT '',
    email VARCHAR(254) NOT NULL DEFAULT '',
    postcode VARCHAR(5) NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_customers_customer_number UNIQUE (customer_number)
);
CREATE INDEX ix_customers_last_name ON customers (last_name);
CREATE INDEX ix_customers_company ON customers (company);

CREATE TABLE customer_phones (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL,
    e164 VARCHAR(16) NOT NULL,
    label VARCHAR(32) NOT NULL DEFAULT '',
    CONSTRAINT uq_customer_phones_e164 UNIQUE (e164),
    CONSTRAINT fk_customer_phones_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
);
CREATE INDEX ix_customer_phones_customer_id ON customer_phones (customer_id);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL,
    call_uniqueid VARCHAR(64),
    subject VARCHAR(200) NOT NULL,
    status VARCHAR(16) NOT NULL DEFAULT 'open',
    opened_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    notes TEXT NOT NULL DEFAULT '',
    CONSTRAINT ck_tickets_status CHECK (status IN ('open', 'pending', 'closed')),
    CONSTRAINT fk_tickets_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id)
);
CREATE INDEX ix_tickets_customer_id_status ON tickets (customer_id, status);
CREATE INDEX ix_tickets_call_uniqueid ON tickets (call_uniqueid);

CREATE TABLE interactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL,
    call_uniqueid VARCHAR(64),
    at TIMESTAMP NOT NULL,
    direction VARCHAR(16) NOT NULL,
    agent VARCHAR(64) NOT NULL DEFAULT '',
    queue VARCHAR(128) NOT NULL DEFAULT '',
    disposition VARCHAR(64) NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    CONSTRAINT ck_interactions_direction CHECK (direction IN ('inbound', 'outbound')),
    CONSTRAINT fk_interactions_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id)
);
CREATE INDEX ix_interactions_customer_id_at ON interactions (customer_id, at);
CREATE INDEX ix_interactions_call_uniqueid ON interactions (call_uniqueid);
