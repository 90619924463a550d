"""The knowledge base's domain errors (stable ids; rendered by the web error middleware)."""

from __future__ import annotations

from ...core.errors import Conflict, NotFound


class NoSuchArticle(NotFound):
    error_id = "no-such-article"


class NoSuchRevision(NotFound):
    error_id = "no-such-article-revision"


class ArticleChanged(Conflict):
    """Someone saved the article since this editor loaded it: nothing was written."""

    error_id = "article-changed"
