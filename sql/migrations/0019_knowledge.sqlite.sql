-- Knowledge base: the agents' articles (Markdown), their tags (a queue, an IVR choice
-- "script" or "script/node:key", a disposition i.e. a wrap-up code), and every revision (the
-- whole content, who saved it, when, why). search_text holds the article's indexed words as
-- ccserver computes them (accents folded, French Snowball stems, stop words dropped): the same
-- words go into SQLite's FTS5 table and PostgreSQL's tsvector, so both find the same articles.
-- sqlite variant; keep in step with the other file of the pair.

CREATE TABLE knowledge_articles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title VARCHAR(200) NOT NULL,
    body TEXT NOT NULL,
    search_text TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by VARCHAR(64) NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by VARCHAR(64) NOT NULL
);

CREATE TABLE knowledge_tags (
    article_id INTEGER NOT NULL,
    kind VARCHAR(16) NOT NULL,
    value VARCHAR(200) NOT NULL,
    CONSTRAINT pk_knowledge_tags PRIMARY KEY (article_id, kind, value),
    CONSTRAINT ck_knowledge_tags_kind CHECK (kind IN ('queue', 'ivr', 'disposition')),
    CONSTRAINT fk_knowledge_tags_article_id FOREIGN KEY (article_id) REFERENCES knowledge_articles (id) ON DELETE CASCADE
);
CREATE INDEX ix_knowledge_tags_kind_value ON knowledge_tags (kind, value);

CREATE TABLE knowledge_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    author VARCHAR(64) NOT NULL,
    action VARCHAR(16) NOT NULL,
    comment VARCHAR(500) NOT NULL DEFAULT '',
    title VARCHAR(200) NOT NULL,
    body TEXT NOT NULL,
    tags TEXT NOT NULL,
    CONSTRAINT uq_knowledge_revisions_article_number UNIQUE (article_id, number),
    CONSTRAINT ck_knowledge_revisions_action CHECK (action IN ('create', 'edit', 'restore')),
    CONSTRAINT fk_knowledge_revisions_article_id FOREIGN KEY (article_id) REFERENCES knowledge_articles (id) ON DELETE CASCADE
);

-- dialect-specific: full-text index (not modelled in tables.py; kept by adapters/db/knowledge.py)
CREATE VIRTUAL TABLE knowledge_fts USING fts5(search_text, tokenize = 'unicode61 remove_diacritics 2');
