"""What the knowledge base needs from outside: the article store (the database adapter, blocking:
call it from a worker thread), the supervisors' scopes and the queues that exist."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .model import Article, ArticleDraft, Hit, Revision, Tag


class KnowledgeRepository(Protocol):
    def add(self, draft: ArticleDraft, author: str) -> Article: ...
    def add_many(self, drafts: list[ArticleDraft], author: str) -> list[Article]: ...
    def update(
        self, article_id: int, draft: ArticleDraft, author: str, expected_revision: int | None, action: str = "edit"
    ) -> Article:
        """Raises NoSuchArticle, ArticleChanged (another revision was saved meanwhile)."""
        ...

    def article(self, article_id: int) -> Article:
        """Raises NoSuchArticle."""
        ...

    def articles(self, tag: Tag | None = None, limit: int = 200) -> list[Hit]: ...
    def count(self) -> int: ...
    def search(self, match: str, tsquery: str, tag: Tag | None = None, limit: int = 20) -> list[Hit]: ...
    def tagged(self, tags: tuple[Tag, ...], limit: int = 200) -> list[tuple[Hit, datetime]]: ...
    def revisions(self, article_id: int) -> list[Revision]:
        """Newest first. Raises NoSuchArticle."""
        ...

    def revision(self, article_id: int, number: int) -> Revision:
        """Raises NoSuchRevision."""
        ...


class Scopes(Protocol):
    def scopes_of(self, username: str) -> tuple[set[str], set[str]]:
        """(queues, teams) given to a supervisor."""
        ...


class Audit(Protocol):
    def record(self, actor: str, action: str, target: str = "", **details: object) -> object: ...
