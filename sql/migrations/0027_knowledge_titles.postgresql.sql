-- Knowledge base search: a second full-text index holding only the articles' title words (the
-- same folded French stems as search_text, model.terms of the title). A search first looks for
-- articles whose title has every word of the query and ranks those (few, short: cheap); it ranks
-- the other matches only when the titles do not fill the page, and then only the newest of them
-- (adapters/db/knowledge.py): a search no longer ranks thousands of matches for a common word.
-- The existing articles' title words are taken from their search_text, which starts with them
-- twice ("T T body tags", model.search_text): the shortest X such that it starts with "X X".
-- postgresql variant; keep in step with the other file of the pair.

-- dialect-specific: a narrow table of tsvectors (a title's few words: a search reads only small
-- rows) with its own GIN index, written through (no pending list: 0026)
CREATE TABLE knowledge_fts_title (
    article_id INTEGER PRIMARY KEY,
    title_vector TSVECTOR NOT NULL,
    CONSTRAINT fk_knowledge_fts_title_article_id FOREIGN KEY (article_id) REFERENCES knowledge_articles (id) ON DELETE CASCADE
);

INSERT INTO knowledge_fts_title (article_id, title_vector)
SELECT id, to_tsvector('simple', coalesce(substring(search_text FROM '^(.+?) \1(?: |$)'), ''))
FROM knowledge_articles;

CREATE INDEX ix_knowledge_fts_title_vector ON knowledge_fts_title USING GIN (title_vector) WITH (fastupdate = off);
