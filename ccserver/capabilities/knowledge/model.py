"""Knowledge base: articles in Markdown for the agents during calls, tagged by queue, IVR choice
and disposition (wrap-up code), searched in full text with French stemming, edited with history.

Pure logic, no I/O: validation of what an editor sends, the words both databases index (accents
folded, French Snowball stems, stop words dropped: the same function for the article and for the
query, so SQLite and PostgreSQL find the same articles), the tags a ringing call suggests, who
may edit which article, Markdown rendered then sanitised, and the diff between two revisions.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import nh3
import snowballstemmer
from markdown_it import MarkdownIt

from ...core.errors import InvalidInput
from ...core.text import Text

TITLE_MAX = 200
BODY_MAX = 100_000
COMMENT_MAX = 500
TAGS_MAX = 50
QUERY_MAX = 200
QUERY_TERMS_MAX = 12
TAG_KINDS = ("queue", "ivr", "disposition")
TAG_KIND_LABELS = {"queue": "File", "ivr": "Choix SVI", "disposition": "Qualification"}

_CODE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")  # queue names and wrap-up codes (acd NAME_RE)
_IVR_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}(?:/[A-Za-z0-9_.-]{1,64}:[0-9*#]{1,8})?$")  # script[/node:key]
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD_RE = re.compile(r"[a-z0-9]+")

# the common French words that say nothing about an article (PostgreSQL's french stop list, short)
STOP_WORDS = frozenset(
    """au aux avec ce ces dans de des du elle en et eux il je la le les leur lui ma mais me meme mes
    moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un
    une vos votre vous c d j l a m n s t y est sont ete etre avoir ai as avons avez ont cette cet
    ici si plus tres comme ca""".split()  # noqa: SIM905
)


@dataclass(frozen=True, order=True)
class Tag:
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "value": self.value, "label": TAG_KIND_LABELS[self.kind]}


@dataclass(frozen=True)
class ArticleDraft:
    """What an editor saves: validated and normalised by `validate_draft`."""

    title: str
    body: str
    tags: tuple[Tag, ...]
    comment: str = ""


@dataclass(frozen=True)
class Article:
    id: int
    title: str
    body: str
    tags: tuple[Tag, ...]
    revision: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    def to_dict(self, *, html: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "tags": [t.to_dict() for t in self.tags],
            "revision": self.revision,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }
        if html:
            out["html"] = render_markdown(self.body)
        return out


@dataclass(frozen=True)
class Revision:
    """One saved state of an article: who, when, why, and the whole content at that point."""

    article_id: int
    number: int
    at: datetime
    author: str
    action: str  # create, edit, restore
    comment: str
    title: str
    body: str
    tags: tuple[Tag, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "number": self.number,
            "at": self.at.isoformat(),
            "author": self.author,
            "action": self.action,
            "comment": self.comment,
            "title": self.title,
            "tags": [t.to_dict() for t in self.tags],
        }


@dataclass(frozen=True)
class Hit:
    """A search result or a suggestion: enough to list it; the article is read on demand."""

    id: int
    title: str
    snippet: str
    tags: tuple[Tag, ...] = ()
    matched: tuple[str, ...] = field(default=())  # the call's tags that suggested it

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "snippet": self.snippet,
            "tags": [t.to_dict() for t in self.tags],
            "matched": list(self.matched),
        }


# --- words: what both databases index ------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without accents or ligatures: "Électricité" -> "electricite"."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_stemmer = snowballstemmer.stemmer("french")


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    """The indexed words of `text`, in order: folded, stop words dropped, French stems."""
    return [stem(w) for w in _WORD_RE.findall(fold(text)) if w not in STOP_WORDS]


def title_text(title: str) -> str:
    """The words of the title alone: searched first (an article whose title has every word of
    the query comes before those that have them only in their text)."""
    return " ".join(terms(title))


def search_text(title: str, body: str, tags: tuple[Tag, ...] = ()) -> str:
    """The text both databases index for an article (the title counts twice, the tags' words once)."""
    title_terms = title_text(title)
    tag_terms = " ".join(terms(" ".join(t.value.replace("/", " ").replace(":", " ") for t in tags)))
    return " ".join(p for p in (title_terms, title_terms, " ".join(terms(body)), tag_terms) if p)


def query_terms(query: Any) -> tuple[str, ...]:
    """The stems a search looks for (all must be present; the last one may be the beginning of a
    word, as typed). Raises InvalidInput on a query with nothing to look for."""
    if not isinstance(query, str):
        raise InvalidInput("q: a text to search for", field="q")
    if len(query) > QUERY_MAX:
        raise InvalidInput(Text("q: at most %(QUERY_MAX)s characters", QUERY_MAX=QUERY_MAX), field="q")
    found = list(dict.fromkeys(terms(query)))
    if not found:
        raise InvalidInput("q: give at least one meaningful word", field="q")
    return tuple(found[:QUERY_TERMS_MAX])


def fts5_match(stems: tuple[str, ...]) -> str:
    """The FTS5 MATCH expression: each stem quoted (stems are [a-z0-9]+), the last a prefix."""
    return " AND ".join(f'"{s}"' + ("*" if i == len(stems) - 1 else "") for i, s in enumerate(stems))


def tsquery(stems: tuple[str, ...]) -> str:
    """The same as a PostgreSQL to_tsquery('simple', ...) text."""
    return " & ".join(s + (":*" if i == len(stems) - 1 else "") for i, s in enumerate(stems))


# --- validation ----------------------------------------------------------------------------------


def _clean_text(value: Any, name: str, limit: int, *, required: bool, multiline: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(Text("%(name)s: text expected", name=name), field=name)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        value = " ".join(value.split())
    else:
        value = value.strip("\n")
    if _CONTROL_RE.search(value) or (not multiline and "\n" in value):
        raise InvalidInput(Text("%(name)s: control characters are not allowed", name=name), field=name)
    if required and not value.strip():
        raise InvalidInput(Text("%(name)s: required", name=name), field=name)
    if len(value) > limit:
        raise InvalidInput(Text("%(name)s: at most %(limit)s characters", name=name, limit=limit), field=name)
    return value


def parse_tag(raw: Any) -> Tag:
    """ "queue:support", "ivr:accueil" or "ivr:accueil/menu:2", "disposition:resolu"."""
    if isinstance(raw, dict):
        kind, value = raw.get("kind"), raw.get("value")
    elif isinstance(raw, str) and ":" in raw:
        kind, value = raw.split(":", 1)
    else:
        raise InvalidInput(Text("tags: %(raw)r is not kind:value", raw=raw), field="tags")
    if kind not in TAG_KINDS:
        raise InvalidInput(
            Text("tags: kind %(kind)r is not one of %(value)s", kind=kind, value=", ".join(TAG_KINDS)), field="tags"
        )
    value = value.strip() if isinstance(value, str) else value
    pattern = _IVR_RE if kind == "ivr" else _CODE_RE
    if not isinstance(value, str) or not pattern.match(value):
        expected = "script or script/node:key" if kind == "ivr" else "a lowercase name"
        raise InvalidInput(
            Text("tags: %(kind)s %(value)r is not %(expected)s", kind=kind, value=value, expected=expected),
            field="tags",
        )
    return Tag(kind, value)


def parse_tags(raw: Any) -> tuple[Tag, ...]:
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):  # a form field: one tag per line or separated by commas
        raw = [p for p in re.split(r"[\n,]+", raw) if p.strip()]
    if not isinstance(raw, list):
        raise InvalidInput("tags: a list of kind:value", field="tags")
    tags = sorted({parse_tag(t.strip() if isinstance(t, str) else t) for t in raw})
    if len(tags) > TAGS_MAX:
        raise InvalidInput(Text("tags: at most %(TAGS_MAX)s", TAGS_MAX=TAGS_MAX), field="tags")
    return tuple(tags)


def validate_draft(body: Any) -> ArticleDraft:
    if not isinstance(body, dict):
        raise InvalidInput("an object with title, body, tags and comment expected", field="body")
    return ArticleDraft(
        title=_clean_text(body.get("title"), "title", TITLE_MAX, required=True, multiline=False),
        body=_clean_text(body.get("body"), "body", BODY_MAX, required=True, multiline=True),
        tags=parse_tags(body.get("tags")),
        comment=_clean_text(body.get("comment"), "comment", COMMENT_MAX, required=False, multiline=False),
    )


# --- who may edit --------------------------------------------------------------------------------


def may_edit(role: str, scope_queues: set[str] | frozenset[str] | None, tags: tuple[Tag, ...]) -> bool:
    """Admins edit every article; a supervisor an article whose queue tags are all within their
    scope (and that has at least one: an article for every queue is the admins'); agents none.
    `scope_queues` None: supervisors are not scoped (no scope source configured)."""
    if role == "admin":
        return True
    if role != "supervisor":
        return False
    queues = {t.value for t in tags if t.kind == "queue"}
    if scope_queues is None:
        return True
    return bool(queues) and queues <= set(scope_queues)


# --- suggestions from a ringing call -------------------------------------------------------------


def call_tags(queue: str | None, call_data: dict[str, str] | None) -> tuple[Tag, ...]:
    """The tags a call carries: its queue, the IVR script it went through and each menu choice
    (``menu_path`` "node:key,node:key" as the IVR sets it). Anything malformed is left out."""
    out: list[Tag] = []
    if queue and _CODE_RE.match(queue):
        out.append(Tag("queue", queue))
    data = call_data or {}
    script = data.get("ivr_script") or ""
    if script and _IVR_RE.match(script) and "/" not in script:
        out.append(Tag("ivr", script))
        path = data.get("menu_path") or ""
        steps = path if isinstance(path, list) else str(path).split(",")
        for step in steps:
            value = f"{script}/{str(step).strip()}"
            if _IVR_RE.match(value):
                out.append(Tag("ivr", value))
    return tuple(dict.fromkeys(out))


def rank_suggestions(candidates: list[tuple[Hit, datetime]], wanted: tuple[Tag, ...], limit: int) -> list[Hit]:
    """The articles sharing tags with the call, those sharing the most (an IVR choice counts more
    than the script alone or the queue) first, then the most recently updated."""
    weight = {t: (3 if t.kind == "ivr" and "/" in t.value else 1) for t in wanted}
    scored = []
    for hit, updated_at in candidates:
        matched = tuple(str(t) for t in hit.tags if t in weight)
        score = sum(weight[t] for t in hit.tags if t in weight)
        if score:
            scored.append(
                (-score, -updated_at.timestamp(), hit.id, Hit(hit.id, hit.title, hit.snippet, hit.tags, matched))
            )
    scored.sort(key=lambda x: x[:3])
    return [s[3] for s in scored[:limit]]


# --- display -------------------------------------------------------------------------------------

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"align"}, "th": {"align"}}


def render_markdown(body: str) -> str:
    """HTML safe to put in a page: Markdown without raw HTML, then sanitised (no script, no event
    attribute, links only to http(s), mailto and tel; every link opens without referrer)."""
    return nh3.clean(
        _md.render(body),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )


def snippet(body: str, limit: int = 180) -> str:
    """The start of the article as plain text (Markdown marks dropped) for result lists."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", body)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[#>*_`|~]+", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def revision_text(title: str, body: str, tags: tuple[Tag, ...]) -> list[str]:
    return [f"# {title}", "tags: " + ", ".join(str(t) for t in tags), "", *body.split("\n")]


def diff(old: Revision | None, new: Revision) -> str:
    """A unified diff from `old` (None: an empty article) to `new`: title, tags and body."""
    before = revision_text(old.title, old.body, old.tags) if old else []
    after = revision_text(new.title, new.body, new.tags)
    return "\n".join(
        difflib.unified_diff(
            before,
            after,
            fromfile=f"révision {old.number}" if old else "(vide)",
            tofile=f"révision {new.number}",
            lineterm="",
        )
    )


def tags_json(tags: tuple[Tag, ...]) -> str:
    return json.dumps([str(t) for t in tags])


def tags_from_json(text: str) -> tuple[Tag, ...]:
    return tuple(parse_tag(t) for t in json.loads(text or "[]"))
