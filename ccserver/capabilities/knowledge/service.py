"""Knowledge-base use cases: search and read (every role), suggestions for a ringing call, and
editing with history (supervisors within their queues, admins everywhere). The repository is
blocking: every call goes through a worker thread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ...core.errors import Forbidden, InvalidInput
from ...core.text import Text
from .errors import NoSuchRevision
from .model import (
    Article,
    ArticleDraft,
    Hit,
    Revision,
    Tag,
    call_tags,
    diff,
    fts5_match,
    may_edit,
    parse_tag,
    query_terms,
    rank_suggestions,
    tsquery,
    validate_draft,
)
from .ports import Audit, KnowledgeRepository, Scopes

logger = logging.getLogger(__name__)

SEARCH_LIMIT_MAX = 50
SUGGESTIONS = 5


def _expected_revision(raw: Any) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).isdigit() or len(str(raw)) > 9:
        raise InvalidInput("revision: the number of the revision the editor started from", field="revision")
    return int(raw)


class KnowledgeService:
    def __init__(
        self,
        repository: KnowledgeRepository,
        audit: Audit,
        *,
        scopes: Scopes | None = None,
        queue_names: Callable[[], list[str]] | None = None,
    ) -> None:
        self.repository = repository
        self.audit = audit
        self.scopes = scopes  # None: supervisors are not scoped (tests without the ACD)
        self.queue_names = queue_names  # None: queue tags are not checked against the ACD

    # --- reading ---------------------------------------------------------------------------------

    async def search(self, query: Any, tag: Any = None, limit: Any = 20) -> list[Hit]:
        stems = query_terms(query)
        wanted = parse_tag(tag) if tag else None
        try:
            count = int(limit)
        except (TypeError, ValueError):
            raise InvalidInput("limit: a number of results", field="limit") from None
        if not 1 <= count <= SEARCH_LIMIT_MAX:
            raise InvalidInput(
                Text("limit: between 1 and %(SEARCH_LIMIT_MAX)s", SEARCH_LIMIT_MAX=SEARCH_LIMIT_MAX), field="limit"
            )
        return await asyncio.to_thread(self.repository.search, fts5_match(stems), tsquery(stems), wanted, count)

    async def articles(self, tag: Any = None) -> list[Hit]:
        wanted = parse_tag(tag) if tag else None
        return await asyncio.to_thread(self.repository.articles, wanted)

    async def article(self, article_id: int) -> Article:
        return await asyncio.to_thread(self.repository.article, article_id)

    async def suggestions(self, queue: str | None, call_data: dict[str, str] | None) -> list[Hit]:
        """The articles for a call: sharing its queue, IVR script or menu choices."""
        wanted = call_tags(queue, call_data)
        candidates = await asyncio.to_thread(self.repository.tagged, wanted)
        return rank_suggestions(candidates, wanted, SUGGESTIONS)

    # --- who may edit ----------------------------------------------------------------------------

    async def _scope(self, user: Any) -> set[str] | None:
        if user.role != "supervisor" or self.scopes is None:
            return None
        queues, _teams = await asyncio.to_thread(self.scopes.scopes_of, user.username)
        return queues

    async def may_edit(self, user: Any, tags: tuple[Tag, ...]) -> bool:
        return may_edit(user.role, await self._scope(user), tags)

    async def require_edit(self, user: Any, tags: tuple[Tag, ...], what: str) -> None:
        if not await self.may_edit(user, tags):
            if user.role == "supervisor":
                raise Forbidden(
                    Text("%(what)s: a supervisor edits only articles tagged with queues of their scope", what=what),
                    field="tags",
                )
            raise Forbidden(Text("%(what)s: only supervisors and admins edit the knowledge base", what=what))

    async def _check_queues(self, draft: ArticleDraft, kept: tuple[Tag, ...] = ()) -> None:
        """Queue tags name queues of the ACD (those the article already had may stay: a removed
        queue does not make its articles uneditable)."""
        queues = [t.value for t in draft.tags if t.kind == "queue" and t not in kept]
        if queues and self.queue_names is not None:
            known = set(await asyncio.to_thread(self.queue_names))
            unknown = sorted(set(queues) - known)
            if unknown:
                raise InvalidInput(
                    Text("tags: no queue named %(value)s", value=", ".join(unknown)), field="tags", queues=unknown
                )

    # --- editing ---------------------------------------------------------------------------------

    async def create(self, user: Any, body: Any) -> Article:
        draft = validate_draft(body)
        await self.require_edit(user, draft.tags, "tags")
        await self._check_queues(draft)
        article = await asyncio.to_thread(self.repository.add, draft, user.username)
        await asyncio.to_thread(
            self.audit.record, user.username, "knowledge.create", f"article:{article.id}", title=article.title
        )
        logger.info("knowledge article %s created by %s", article.id, user.username)
        return article

    async def edit(self, user: Any, article_id: int, body: Any) -> Article:
        draft = validate_draft(body)
        expected = _expected_revision(body.get("revision"))
        current = await self.article(article_id)
        await self.require_edit(user, current.tags, f"article {article_id}")
        await self.require_edit(user, draft.tags, "tags")
        await self._check_queues(draft, kept=current.tags)
        article = await asyncio.to_thread(self.repository.update, article_id, draft, user.username, expected)
        await asyncio.to_thread(
            self.audit.record,
            user.username,
            "knowledge.edit",
            f"article:{article_id}",
            revision=article.revision,
            comment=draft.comment,
        )
        logger.info("knowledge article %s revision %s by %s", article_id, article.revision, user.username)
        return article

    async def history(self, user: Any, article_id: int) -> list[Revision]:
        current = await self.article(article_id)
        await self.require_edit(user, current.tags, f"article {article_id}")
        return await asyncio.to_thread(self.repository.revisions, article_id)

    async def revision_diff(self, user: Any, article_id: int, number: int) -> tuple[Revision, str]:
        """A revision and what it changed from the one before it."""
        current = await self.article(article_id)
        await self.require_edit(user, current.tags, f"article {article_id}")
        revision = await asyncio.to_thread(self.repository.revision, article_id, number)
        before = None
        if number > 1:
            try:
                before = await asyncio.to_thread(self.repository.revision, article_id, number - 1)
            except NoSuchRevision:
                before = None
        return revision, diff(before, revision)

    async def restore(self, user: Any, article_id: int, number: int, comment: Any = None) -> Article:
        """A new revision with the content of revision `number` (the history keeps everything)."""
        current = await self.article(article_id)
        await self.require_edit(user, current.tags, f"article {article_id}")
        old = await asyncio.to_thread(self.repository.revision, article_id, number)
        await self.require_edit(user, old.tags, "tags")
        note = comment if isinstance(comment, str) and comment.strip() else f"restauration de la révision {number}"
        draft = validate_draft(
            {"title": old.title, "body": old.body, "tags": [str(t) for t in old.tags], "comment": note}
        )
        article = await asyncio.to_thread(
            self.repository.update, article_id, draft, user.username, current.revision, "restore"
        )
        await asyncio.to_thread(
            self.audit.record,
            user.username,
            "knowledge.restore",
            f"article:{article_id}",
            revision=article.revision,
            restored=number,
        )
        return article

    async def import_articles(self, user: Any, items: Any) -> list[Article]:
        """Several new articles at once (a JSON list of {title, body, tags}): all or none."""
        if not isinstance(items, list) or not items:
            raise InvalidInput("articles: a non-empty list", field="articles")
        drafts = []
        for index, item in enumerate(items):
            try:
                drafts.append(validate_draft(item))
            except InvalidInput as exc:
                raise InvalidInput(
                    Text("articles[%(index)s]: %(message)s", index=index, message=exc.message),
                    field=f"articles[{index}]",
                ) from None
        for draft in drafts:
            await self.require_edit(user, draft.tags, "tags")
            await self._check_queues(draft)
        articles = await asyncio.to_thread(self.repository.add_many, drafts, user.username)
        await asyncio.to_thread(self.audit.record, user.username, "knowledge.import", "knowledge", count=len(articles))
        return articles
