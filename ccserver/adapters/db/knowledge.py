"""Database access for the knowledge base (0019_knowledge): articles, their tags and revisions,
and the full-text index `knowledge_fts` — an FTS5 table on SQLite, a tsvector with a GIN index on
PostgreSQL (written through, no pending list: 0026). Both index the same words, computed by the
capability (`model.search_text`: accents folded, French stems), and are asked the same stems
(`model.query_terms`): the same articles are found on both. Only the ranking of equally good
results may differ (bm25 versus ts_rank). A second index holds the titles' words alone
(`knowledge_fts_title`, 0027). A search is one statement: the articles whose title has every
word come first, ranked on their title; the other matches fill the page only when those do not,
and then only the newest `SEARCH_POOL` of them are ranked (on the whole text). A common word
therefore never makes the database rank thousands of articles (bench/knowledge_search.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, func, text
from sqlmodel import Session, col, delete, select

from ...capabilities.knowledge.errors import ArticleChanged, NoSuchArticle, NoSuchRevision
from ...capabilities.knowledge.model import (
    Article,
    ArticleDraft,
    Hit,
    Revision,
    Tag,
    search_text,
    snippet,
    tags_from_json,
    tags_json,
    title_text,
)
from ...core.clock import Clock, SystemClock
from ...core.text import Text
from .database import Database
from .tables import KnowledgeArticle, KnowledgeRevision, KnowledgeTag, UtcDateTime

_FTS_DELETE = {
    "sqlite": [
        text("DELETE FROM knowledge_fts WHERE rowid = :id"),
        text("DELETE FROM knowledge_fts_title WHERE rowid = :id"),
    ],
    "postgresql": [
        text("DELETE FROM knowledge_fts WHERE article_id = :id"),
        text("DELETE FROM knowledge_fts_title WHERE article_id = :id"),
    ],
}
_FTS_INSERT = {
    "sqlite": [
        text("INSERT INTO knowledge_fts (rowid, search_text) VALUES (:id, :words)"),
        text("INSERT INTO knowledge_fts_title (rowid, title_text) VALUES (:id, :title)"),
    ],
    "postgresql": [
        text("INSERT INTO knowledge_fts (article_id, search_vector) VALUES (:id, to_tsvector('simple', :words))"),
        text("INSERT INTO knowledge_fts_title (article_id, title_vector) VALUES (:id, to_tsvector('simple', :title))"),
    ],
}
# how many of the newest matches a search ranks when the titles do not fill its page
SEARCH_POOL = 300
# what a result list shows of an article: title, body (for the snippet), when it was last updated
# and its tags as "kind:value" lines (values never hold a newline: model.parse_tag)
_HIT_COLUMNS = "a.id, a.title, a.body, a.updated_at, (SELECT {agg} FROM knowledge_tags t WHERE t.article_id = a.id)"
_TAGS_AGG = {
    "sqlite": "group_concat(t.kind || ':' || t.value, char(10))",
    "postgresql": "string_agg(t.kind || ':' || t.value, E'\\n')",
}
# the best `limit` matches and their columns in one statement. First the articles whose title has
# every word (`t`: the title index, ranked: titles are short and few match), then, only when those
# do not fill the page, the other matches (`b`): the newest :pool of them ranked on the whole
# text, so that a common word never makes the database rank thousands of articles. Lower scores
# first (bm25 is negative, ts_rank is negated). {tags}: an optional filter on the articles' tags
_FTS_SEARCH = {
    "sqlite": (
        "WITH t AS MATERIALIZED (SELECT rowid AS id, bm25(knowledge_fts_title) AS score FROM knowledge_fts_title"
        " WHERE knowledge_fts_title MATCH :q{tags} ORDER BY score, rowid LIMIT :limit),"
        " b AS (SELECT id, score FROM (SELECT rowid AS id, bm25(knowledge_fts) AS score FROM knowledge_fts"
        " WHERE knowledge_fts MATCH :q{tags} ORDER BY rowid DESC"
        " LIMIT CASE WHEN (SELECT count(*) FROM t) < :limit THEN :pool ELSE 0 END)"
        " WHERE id NOT IN (SELECT id FROM t) ORDER BY score, id LIMIT :limit),"
        " best AS (SELECT 0 AS tier, id, score FROM t UNION ALL SELECT 1, id, score FROM b)"
        " SELECT {columns} FROM best JOIN knowledge_articles a ON a.id = best.id"
        " ORDER BY best.tier, best.score, best.id LIMIT :limit"
    ),
    "postgresql": (
        "WITH t AS MATERIALIZED (SELECT f.article_id AS id, -ts_rank(f.title_vector, q) AS score"
        " FROM knowledge_fts_title f, to_tsquery('simple', :q) q WHERE f.title_vector @@ q{tags}"
        " ORDER BY score, f.article_id LIMIT :limit),"
        " b AS (SELECT id, -ts_rank(v, q) AS score FROM (SELECT f.article_id AS id, f.search_vector AS v"
        " FROM knowledge_fts f WHERE f.search_vector @@ to_tsquery('simple', :q){tags}"
        " ORDER BY f.article_id DESC LIMIT :pool) c, to_tsquery('simple', :q) q"
        " WHERE (SELECT count(*) FROM t) < :limit AND id NOT IN (SELECT id FROM t) ORDER BY score, id LIMIT :limit),"
        " best AS (SELECT 0 AS tier, id, score FROM t UNION ALL SELECT 1, id, score FROM b)"
        " SELECT {columns} FROM best JOIN knowledge_articles a ON a.id = best.id"
        " ORDER BY best.tier, best.score, best.id LIMIT :limit"
    ),
}
_ID_COLUMN = {"sqlite": "rowid", "postgresql": "f.article_id"}


class _Snippets:
    """Each article's snippet computed once per content: cleaning the Markdown of a page of 20
    bodies cost about half as much CPU as the search itself. Keyed by article, checked against
    the body's hash and length (an edit changes them); emptied when it holds `MAX` articles."""

    MAX = 50_000

    def __init__(self) -> None:
        self._known: dict[int, tuple[int, int, str]] = {}

    def of(self, article_id: int, body: str) -> str:
        known = self._known.get(article_id)
        if known is not None and known[0] == hash(body) and known[1] == len(body):
            return known[2]
        text = snippet(body)
        if len(self._known) >= self.MAX:
            self._known.clear()
        self._known[article_id] = (hash(body), len(body), text)
        return text


def _hit(row, snippets: _Snippets) -> tuple[Hit, datetime]:
    """A result row (id, title, body, updated_at, tags as "kind:value" lines) as a Hit."""
    article_id, title, body, updated_at, tags = row
    found = tuple(sorted(Tag(*line.split(":", 1)) for line in tags.split("\n"))) if tags else ()
    return Hit(article_id, title, snippets.of(article_id, body), found), updated_at


def _tags_of(session: Session, ids: Iterable[int]) -> dict[int, tuple[Tag, ...]]:
    ids = list(ids)
    out: dict[int, list[Tag]] = {i: [] for i in ids}
    if ids:
        for row in session.exec(select(KnowledgeTag).where(col(KnowledgeTag.article_id).in_(ids))):
            out[row.article_id].append(Tag(row.kind, row.value))
    return {i: tuple(sorted(tags)) for i, tags in out.items()}


def _article(row: KnowledgeArticle, tags: tuple[Tag, ...]) -> Article:
    assert row.id is not None
    return Article(
        id=row.id,
        title=row.title,
        body=row.body,
        tags=tags,
        revision=row.revision,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _revision(row: KnowledgeRevision) -> Revision:
    return Revision(
        article_id=row.article_id,
        number=row.number,
        at=row.at,
        author=row.author,
        action=row.action,
        comment=row.comment,
        title=row.title,
        body=row.body,
        tags=tags_from_json(row.tags),
    )


class KnowledgeRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self._snippets = _Snippets()

    # --- writes ----------------------------------------------------------------------------------

    def _index(self, s: Session, article_id: int, words: str, title: str, *, replace: bool) -> None:
        conn = s.connection()
        if replace:
            for statement in _FTS_DELETE[self.db.dialect]:
                conn.execute(statement, {"id": article_id})
        for statement in _FTS_INSERT[self.db.dialect]:
            conn.execute(statement, {"id": article_id, "words": words, "title": title})

    def _write(
        self, s: Session, row: KnowledgeArticle, draft: ArticleDraft, author: str, action: str, *, new: bool
    ) -> Article:
        now = self.clock.now()
        row.title, row.body, row.search_text = draft.title, draft.body, search_text(draft.title, draft.body, draft.tags)
        row.updated_at, row.updated_by = now, author
        s.add(row)
        s.flush()
        assert row.id is not None
        if not new:
            s.exec(delete(KnowledgeTag).where(col(KnowledgeTag.article_id) == row.id))
        for tag in draft.tags:
            s.add(KnowledgeTag(article_id=row.id, kind=tag.kind, value=tag.value))
        s.add(
            KnowledgeRevision(
                article_id=row.id,
                number=row.revision,
                at=now,
                author=author,
                action=action,
                comment=draft.comment,
                title=draft.title,
                body=draft.body,
                tags=tags_json(draft.tags),
            )
        )
        self._index(s, row.id, row.search_text, title_text(draft.title), replace=not new)
        s.flush()
        return _article(row, draft.tags)

    def add(self, draft: ArticleDraft, author: str) -> Article:
        return self.add_many([draft], author)[0]

    def add_many(self, drafts: list[ArticleDraft], author: str) -> list[Article]:
        """New articles (an import), each with its first revision, in one transaction."""
        now = self.clock.now()
        with self.db.session() as s:
            out = []
            for draft in drafts:
                row = KnowledgeArticle(
                    title="", body="", search_text="", revision=1, created_at=now, created_by=author,
                    updated_at=now, updated_by=author,
                )  # fmt: skip
                out.append(self._write(s, row, draft, author, "create", new=True))
            return out

    def update(
        self, article_id: int, draft: ArticleDraft, author: str, expected_revision: int | None, action: str = "edit"
    ) -> Article:
        """A new revision. `expected_revision`: the one the editor started from (None: whatever
        is current); another one means someone saved meanwhile: ArticleChanged, nothing written."""
        with self.db.write_session() as s:
            row = s.get(KnowledgeArticle, article_id)
            if row is None:
                raise NoSuchArticle(
                    Text("no article %(article_id)s", article_id=article_id), field="id", article=article_id
                )
            if expected_revision is not None and row.revision != expected_revision:
                raise ArticleChanged(
                    Text(
                        "article %(article_id)s was saved by %(updated_by)s (revision %(revision)s) since revision %(expected_revision)s was loaded: reload it",
                        article_id=article_id,
                        updated_by=row.updated_by,
                        revision=row.revision,
                        expected_revision=expected_revision,
                    ),
                    field="revision",
                    article=article_id,
                    revision=row.revision,
                )
            row.revision += 1
            return self._write(s, row, draft, author, action, new=False)

    # --- reads -----------------------------------------------------------------------------------

    def article(self, article_id: int) -> Article:
        with self.db.read_session() as s:
            row = s.get(KnowledgeArticle, article_id)
            if row is None:
                raise NoSuchArticle(
                    Text("no article %(article_id)s", article_id=article_id), field="id", article=article_id
                )
            return _article(row, _tags_of(s, [article_id])[article_id])

    def _hits(self, s: Session, ids: list[int]) -> list[tuple[Hit, datetime]]:
        if not ids:
            return []
        columns = _HIT_COLUMNS.format(agg=_TAGS_AGG[self.db.dialect])
        query = text(f"SELECT {columns} FROM knowledge_articles a WHERE a.id IN :ids")
        query = query.bindparams(bindparam("ids", expanding=True))
        rows = {r[0]: r for r in s.connection().execute(query.columns(updated_at=UtcDateTime), {"ids": ids})}
        return [_hit(rows[i], self._snippets) for i in ids if i in rows]

    def articles(self, tag: Tag | None = None, limit: int = 200) -> list[Hit]:
        """The most recently updated articles (with `tag` only, if given)."""
        with self.db.read_session() as s:
            query = select(KnowledgeArticle.id)
            if tag is not None:
                query = query.join(KnowledgeTag, col(KnowledgeTag.article_id) == KnowledgeArticle.id).where(
                    KnowledgeTag.kind == tag.kind, KnowledgeTag.value == tag.value
                )
            query = query.order_by(col(KnowledgeArticle.updated_at).desc(), col(KnowledgeArticle.id).desc())
            ids = list(s.exec(query.limit(limit)))
            return [h for h, _ in self._hits(s, ids)]

    def count(self) -> int:
        with self.db.read_session() as s:
            return s.exec(select(func.count()).select_from(KnowledgeArticle)).one()

    def search(self, match: str, tsquery: str, tag: Tag | None = None, limit: int = 20) -> list[Hit]:
        """The best articles for a query: `match` is its FTS5 expression, `tsquery` the same as
        PostgreSQL's (model.fts5_match / model.tsquery of the same stems)."""
        dialect = self.db.dialect
        params: dict[str, object] = {
            "q": match if dialect == "sqlite" else tsquery,
            "limit": limit,
            "pool": SEARCH_POOL,
        }
        tags = ""
        if tag is not None:
            tags = (
                f" AND {_ID_COLUMN[dialect]} IN (SELECT article_id FROM knowledge_tags WHERE kind = :kind"
                " AND value = :value)"
            )
            params.update(kind=tag.kind, value=tag.value)
        columns = _HIT_COLUMNS.format(agg=_TAGS_AGG[dialect])
        query = text(_FTS_SEARCH[dialect].format(tags=tags, columns=columns)).columns(updated_at=UtcDateTime)
        return [_hit(row, self._snippets)[0] for row in self.db.read_rows(query, params)]

    def tagged(self, tags: tuple[Tag, ...], limit: int = 200) -> list[tuple[Hit, datetime]]:
        """The articles carrying any of `tags`, with when they were last updated."""
        if not tags:
            return []
        with self.db.read_session() as s:
            wanted = {(t.kind, t.value) for t in tags}
            query = select(KnowledgeTag.article_id, KnowledgeTag.kind, KnowledgeTag.value).where(
                col(KnowledgeTag.value).in_({t.value for t in tags})
            )
            ids = list(dict.fromkeys(a for a, k, v in s.exec(query) if (k, v) in wanted))[:limit]
            return self._hits(s, ids)

    def revisions(self, article_id: int) -> list[Revision]:
        """Newest first."""
        with self.db.read_session() as s:
            if s.get(KnowledgeArticle, article_id) is None:
                raise NoSuchArticle(
                    Text("no article %(article_id)s", article_id=article_id), field="id", article=article_id
                )
            rows = s.exec(
                select(KnowledgeRevision)
                .where(KnowledgeRevision.article_id == article_id)
                .order_by(col(KnowledgeRevision.number).desc())
            )
            return [_revision(r) for r in rows]

    def revision(self, article_id: int, number: int) -> Revision:
        with self.db.read_session() as s:
            row = s.exec(
                select(KnowledgeRevision).where(
                    KnowledgeRevision.article_id == article_id, KnowledgeRevision.number == number
                )
            ).first()
            if row is None:
                raise NoSuchRevision(
                    Text("article %(article_id)s has no revision %(number)s", article_id=article_id, number=number),
                    field="revision",
                    article=article_id,
                )
            return _revision(row)
