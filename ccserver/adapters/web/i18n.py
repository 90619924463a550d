"""The interface in French and English: message catalogs, the request's language, translations.

The catalogs are gettext ``.po`` files under ``ccserver/locale/<lang>/LC_MESSAGES/``:

- ``messages.po``: the pages (templates marked with ``{% trans %}`` / ``_()``), the strings the
  JavaScript shows (``t("...")`` in ``static/*.js``) and the error titles
  (``error_text.TITLES``). Their msgids are French, the language the interface was written in:
  the French catalog is the identity, the English one translates every entry
  (``tests/unit/test_i18n.py`` fails on a missing translation).
- ``errors.po``: the server's error messages, written in English in the code; the French
  catalog translates the common ones (the others stay as written, under a French title).
- ``texts.po``: the domain's messages with values in them (``ccserver.core.text.Text``:
  compliance explanations, IVR validation messages, import rejections, API errors naming a
  value). msgids are the English ids with ``%(name)s`` placeholders; both fr and en catalogs
  hold every one (``tests/unit/test_texts_catalog.py``).

The ``.po`` files are compiled in memory on first use (no ``.mo`` to build or commit).
Update them after changing a marked string (``pybabel`` comes with the Babel dependency)::

    pybabel extract -F babel.cfg -o ccserver/locale/messages.pot .
    pybabel update -i ccserver/locale/messages.pot -d ccserver/locale -D messages

then fill the new English ``msgstr`` entries.

The language of a request: the user's saved choice (``users.language``, ``POST
/api/me/language``), else the browser's ``Accept-Language`` negotiated among fr and en, else
French.
"""

from __future__ import annotations

import contextvars
import functools
import io
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from ...core.text import Text

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"

# the language of the request being served (set by the web edge's middleware)
CURRENT_LANGUAGE: contextvars.ContextVar[str] = contextvars.ContextVar("ccs_language", default=DEFAULT_LANGUAGE)


def parse_accept_language(header: str | None) -> list[str]:
    """The language tags of an Accept-Language header, most preferred first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or len(tag) > 35:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(header: str | None) -> str | None:
    """The supported language the browser prefers ("en-US,en;q=0.9" -> "en"), None if none."""
    preferred = parse_accept_language(header)
    if not preferred:
        return None
    locale = Locale.negotiate(preferred, list(LANGUAGES), sep="-")
    return locale.language if locale is not None else None


def choose_language(saved: str | None, accept_language: str | None) -> str:
    """The user's saved choice, else the browser's language, else French."""
    if saved in LANGUAGES:
        return saved
    return negotiate(accept_language) or DEFAULT_LANGUAGE


def valid_language(value: object) -> str | None:
    """A language a user may save: "fr", "en", or None / "" for "follow the browser"."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value in LANGUAGES:
        return value
    raise ValueError(Text("language: one of %(value)s, or null to follow the browser", value=", ".join(LANGUAGES)))


@functools.cache
def catalog(language: str, domain: str = "messages"):
    """The parsed .po catalog of a language (babel Catalog), empty when the file is missing."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        from babel.messages.catalog import Catalog

        return Catalog(locale=language, domain=domain)
    with path.open("rb") as fp:
        return read_po(fp, locale=language, domain=domain)


@functools.cache
def translations(language: str, domain: str = "messages") -> Translations:
    """gettext translations compiled in memory from the .po file."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog(language, domain))
    buffer.seek(0)
    return Translations(buffer, domain=domain)


def current_language() -> str:
    return CURRENT_LANGUAGE.get()


def gettext(message: str, **variables) -> str:
    text = translations(current_language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    text = translations(current_language()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


def translate(message: str, language: str, domain: str = "messages") -> str:
    return translations(language, domain).gettext(message)


def render(value: str, language: str | None = None) -> str:
    """A domain message in `language` (the request's by default): a `Text` through the ``texts``
    catalog, its placeholders filled; any other string as it is."""
    if isinstance(value, Text):
        return value.render(translations(language or current_language(), "texts").gettext)
    return value


def localize(value, language: str | None = None):
    """A JSON-ready value with every domain message in `language`: each `Text` rendered, and in
    each mapping, ``K`` re-rendered from ``K_text`` (a stored message's id and parameters; see
    ``ccserver.core.text.with_texts``). The ``K_text`` records stay as they are."""
    language = language or current_language()
    if isinstance(value, Text):
        return render(value, language)
    if isinstance(value, dict):
        out = {k: localize(v, language) for k, v in value.items()}
        for key, record in value.items():
            if isinstance(key, str) and key.endswith("_text") and isinstance(value.get(key[:-5]), str):
                text = Text.from_json(record)
                if text is not None:
                    out[key[:-5]] = render(text, language)
        return out
    if isinstance(value, list | tuple):
        return [localize(v, language) for v in value]
    return value


def json_response(data, **kwargs):
    """``web.json_response`` with the domain messages in the request's language (`localize`)."""
    from aiohttp import web

    return web.json_response(localize(data), **kwargs)


def render_template(name: str, request, context: dict, **kwargs):
    """``aiohttp_jinja2.render_template`` with the domain messages of `context` localized."""
    import aiohttp_jinja2

    return aiohttp_jinja2.render_template(name, request, localize(context), **kwargs)


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return message


@functools.cache
def js_messages(language: str) -> dict[str, str]:
    """The translations of the strings the JavaScript shows (``t("...")`` in static/*.js),
    delivered with every page as a JSON data block: {msgid: translation}."""
    out: dict[str, str] = {}
    for message in catalog(language):
        if not message.id or not message.string or isinstance(message.id, tuple):
            continue
        if any(str(filename).endswith(".js") for filename, _line in message.locations):
            out[message.id] = message.string
    return out


def set_request_language(request, saved: str | None) -> str:
    """Decide the language of a web request (saved choice, Accept-Language, French) and make
    it the current one for the templates and the error messages."""
    from .keys import LANGUAGE

    language = choose_language(saved, request.headers.get("Accept-Language"))
    request[LANGUAGE] = language
    CURRENT_LANGUAGE.set(language)
    return language


def install(env) -> None:
    """The jinja2 i18n extension's callables, reading the request's language."""
    env.add_extension("jinja2.ext.i18n")
    env.filters["localize"] = lambda value: localize(value)
    # every domain message a template prints ({{ r.reason }}) comes out in the page's language
    env.finalize = lambda value: render(value) if isinstance(value, Text) else value
    env.install_gettext_callables(
        lambda message: translations(current_language()).gettext(message),
        lambda singular, plural, n: translations(current_language()).ngettext(singular, plural, n),
        newstyle=True,
    )
