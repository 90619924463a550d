-- Knowledge base search: a second full-text index holding only the articles' title words (the
-- same folded French stems as search_text, model.terms of the title). A search first looks for
-- articles whose title has every word of the query and ranks those (few, short: cheap); it ranks
-- the other matches only when the titles do not fill the page, and then only the newest of them
-- (adapters/db/knowledge.py): a search no longer ranks thousands of matches for a common word.
-- The existing articles' title words are taken from their search_text, which starts with them
-- twice ("T T body tags", model.search_text): the shortest X such that it starts with "X X".
-- sqlite variant; keep in step with the other file of the pair.

-- dialect-specific: FTS5 tables keyed by the article id (rowid), written by the repository, with
-- prefix indexes for 2 and 3 characters: the last word of a query is a prefix ("pa" as typed),
-- which FTS5 otherwise answers by merging the lists of every word starting with it. An FTS5
-- table's options cannot be altered: the full index is rebuilt from search_text.
DROP TABLE knowledge_fts;
CREATE VIRTUAL TABLE knowledge_fts USING fts5(search_text, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
INSERT INTO knowledge_fts (rowid, search_text) SELECT id, search_text FROM knowledge_articles;

CREATE VIRTUAL TABLE knowledge_fts_title USING fts5(
    title_text, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);

INSERT INTO knowledge_fts_title (rowid, title_text)
WITH RECURSIVE cut (id, s, p) AS (
    SELECT id, search_text, instr(search_text, ' ') FROM knowledge_articles
    UNION ALL
    SELECT id, s, p + instr(substr(s, p + 1), ' ') FROM cut
    WHERE NOT (substr(s, 1, p - 1) = substr(s, p + 1, p - 1) AND substr(s, 2 * p, 1) IN (' ', ''))
        AND instr(substr(s, p + 1), ' ') > 0
)
SELECT id, substr(s, 1, p - 1) FROM cut
WHERE p > 1 AND substr(s, 1, p - 1) = substr(s, p + 1, p - 1) AND substr(s, 2 * p, 1) IN (' ', '');
