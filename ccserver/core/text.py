"""Messages shown to users, kept translatable: a message id with named placeholders + values.

The domain stays free of languages: a rule, a validation or an import says what is wrong as a
`Text` — a stable message id written in English with ``%(name)s`` placeholders, and the values of
the placeholders::

    Text("no queue named %(queue)r", queue=name)

A `Text` *is* a ``str`` (its English rendering), so logs, the audit trail, old clients and the
code that compares or stores messages see the same text as before. The web layer renders it in
the user's language (``ccserver.adapters.web.i18n.render``) through the ``texts`` catalogs
(``ccserver/locale/<lang>/LC_MESSAGES/texts.po``, msgid = the English id, msgstr = the
translation with the same placeholders).

Where a message is stored as JSON and shown later (compliance decisions, import reports), the
record keeps it machine-readable beside the English text: ``with_texts({"explanation": text})``
adds ``"explanation_text": {"id": ..., "params": {...}}``, which the web layer renders again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

_PLAIN = (str, int, float, bool, type(None))


def _format(template: str, params: Mapping[str, Any]) -> str:
    return template % params


class Text(str):
    """A user-facing message: ``str()`` is the English text; `msgid` and `params` translate it."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Text:
        # values kept as JSON-ready data: anything else (an exception, a date, a path, an enum)
        # as an f-string would write it
        params = {k: v if type(v) in _PLAIN or isinstance(v, Text) else format(v) for k, v in params.items()}
        try:
            english = _format(msgid, params)
        except (KeyError, ValueError, TypeError):
            english = msgid
        self = super().__new__(cls, english)
        self.msgid = msgid
        self.params = params
        return self

    def __reduce__(self):
        return (_rebuild, (self.msgid, dict(self.params)))

    def render(self, translate: Callable[[str], str]) -> str:
        """The message in the language of `translate` (msgid -> template); English on a bad
        template (a translation whose placeholders do not match)."""
        params = {k: v.render(translate) if isinstance(v, Text) else v for k, v in self.params.items()}
        try:
            return _format(translate(self.msgid), params)
        except (KeyError, ValueError, TypeError):
            return _format(self.msgid, params)

    def as_json(self) -> dict[str, Any]:
        """``{"id": msgid, "params": {...}}`` (nested texts as the same shape)."""
        return {
            "id": self.msgid,
            "params": {k: v.as_json() if isinstance(v, Text) else v for k, v in self.params.items()},
        }

    @classmethod
    def from_json(cls, value: Any) -> Text | None:
        """The inverse of `as_json`; None when `value` is not such a record."""
        if not isinstance(value, Mapping) or not isinstance(value.get("id"), str):
            return None
        params = value.get("params") or {}
        if not isinstance(params, Mapping):
            return None
        rebuilt = {k: (cls.from_json(v) or v) if isinstance(v, Mapping) else v for k, v in params.items()}
        try:
            return cls(value["id"], **rebuilt)
        except (KeyError, ValueError, TypeError):
            return None


def _rebuild(msgid: str, params: dict[str, Any]) -> Text:
    return Text(msgid, **params)


def join(separator: str, items: Iterable[Any]) -> Text:
    """The items (texts or values) one after the other, each shown in the reader's language."""
    items = list(items)
    template = separator.replace("%", "%%").join(f"%(i{n})s" for n in range(len(items)))
    return Text(template, **{f"i{n}": item for n, item in enumerate(items)})


def text_of(record: Mapping[str, Any], key: str) -> str:
    """``record[key]`` as a `Text` when the record keeps its ``key_text`` (or holds a Text)."""
    value = record.get(key, "")
    if isinstance(value, Text):
        return value
    return Text.from_json(record.get(f"{key}_text")) or value


def blocker_text(blocker: Mapping[str, Any]) -> str:
    """The explanation of a campaign blocker record (``{"rule", "explanation", ...}``)."""
    return text_of(blocker, "explanation")


def with_texts(record: dict[str, Any]) -> dict[str, Any]:
    """`record` plus ``K_text`` = the machine-readable form of every `Text` value ``K``."""
    extra = {f"{k}_text": v.as_json() for k, v in record.items() if isinstance(v, Text)}
    return {**record, **extra} if extra else record


__all__ = ["Text", "blocker_text", "join", "text_of", "with_texts"]
