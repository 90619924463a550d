"""The interface's languages: negotiation, the saved choice, and complete catalogs."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from ccserver.adapters.web import error_text, i18n

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9,fr;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("fr-CA", "fr"),
        ("EN-gb", "en"),
        ("de-DE,de;q=0.9,en;q=0.5", "en"),  # the first supported one in the browser's order
        ("fr;q=0.3, en;q=0.8", "en"),  # by quality, not by position
        ("en;q=0, fr", "fr"),  # q=0: not acceptable
        ("de-DE", None),
        ("*", None),
        ("", None),
        (None, None),
        ("en;q=abc, fr", "fr"),
    ],
)
def test_negotiate_picks_the_browsers_preferred_supported_language(header, expected):
    assert i18n.negotiate(header) == expected


def test_saved_choice_beats_the_browser_and_french_is_the_default():
    assert i18n.choose_language("fr", "en-US,en") == "fr"
    assert i18n.choose_language("en", "fr-FR") == "en"
    assert i18n.choose_language(None, "en-US") == "en"
    assert i18n.choose_language(None, "de-DE") == "fr"
    assert i18n.choose_language(None, None) == "fr"
    assert i18n.choose_language("xx", "en") == "en"  # an unsupported saved value is ignored


def test_only_supported_languages_or_nothing_may_be_saved():
    assert i18n.valid_language("en") == "en" and i18n.valid_language("fr") == "fr"
    assert i18n.valid_language(None) is None and i18n.valid_language("") is None
    for bad in ("de", "EN", "en\r\nX", 1, ["en"]):
        with pytest.raises(ValueError, match="language"):
            i18n.valid_language(bad)


def _extracted() -> dict[str, list[str]]:
    with (ROOT / "babel.cfg").open() as fp:
        method_map, options_map = parse_mapping_cfg(fp)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        msgids = message if isinstance(message, tuple) else (message,)
        for msgid in msgids:
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)", text)) | set(re.findall(r"\{(\w+)\}", text))


def test_every_marked_string_has_an_english_translation_and_a_french_entry():
    """A string marked in a template (_(), {% trans %}), in the JavaScript (t()) or an error
    title (N_()) that the catalogs lack fails here: run pybabel extract/update (README) and
    translate it."""
    extracted = _extracted()
    assert len(extracted) > 500, "the extraction found too few strings: is babel.cfg right?"
    english = {m.id: m.string for m in i18n.catalog("en") if m.id}
    french = {m.id for m in i18n.catalog("fr") if m.id}
    untranslated = sorted(f"{msgid!r} ({where[0]})" for msgid, where in extracted.items() if not english.get(msgid))
    assert not untranslated, f"{len(untranslated)} strings without English: " + "; ".join(untranslated[:20])
    missing_fr = sorted(msgid for msgid in extracted if msgid not in french)
    assert not missing_fr, f"{len(missing_fr)} strings missing from the French catalog: {missing_fr[:20]}"
    # a translation uses only the placeholders its source offers (else formatting fails)
    wrong = [
        (msgid, text) for msgid, text in english.items() if text and not _placeholders(text) <= _placeholders(msgid)
    ]
    assert not wrong, wrong
    # a template translation is %-formatted (jinja2's newstyle gettext): a lone % breaks the page
    for message in i18n.catalog("en"):
        if message.id and not all(str(f).endswith(".js") for f, _ in message.locations):
            variables = dict.fromkeys(_placeholders(message.id), 1)
            assert message.string % variables, message.id


def test_templates_render_in_the_current_language():
    env = jinja2.Environment(autoescape=True)
    i18n.install(env)
    template = env.from_string(
        '{{ _("Connexion") }} | {% trans name=who %}Bonjour {{ name }}{% endtrans %} | {{ _("Appeler le %(number)s", number=n) }}'
    )
    token = i18n.CURRENT_LANGUAGE.set("en")
    try:
        assert template.render(who="<b>Ana</b>", n="01 23") == "Log in | Hello &lt;b&gt;Ana&lt;/b&gt; | Call 01 23"
    finally:
        i18n.CURRENT_LANGUAGE.reset(token)
    assert template.render(who="Ana", n="01 23") == "Connexion | Bonjour Ana | Appeler le 01 23"


def test_the_javascript_dictionary_holds_the_scripts_strings_only():
    english = i18n.js_messages("en")
    assert english["erreur {status}"] == "error {status}"
    assert "Connexion" not in english  # a template string is not shipped to the scripts
    assert i18n.js_messages("fr") == {}  # French is the source: t() returns its argument


def test_error_titles_and_messages_follow_the_language():
    class Gone(Exception):
        error_id, status, message, details = "no-such-call", 404, "the call is already on hold", {"call": "1.2"}

    fr, en = error_text.as_dict(Gone(), "fr"), error_text.as_dict(Gone(), "en")
    assert fr["code"] == en["code"] == fr["error"] == "no-such-call"
    assert fr["title"] == "Appel introuvable" and en["title"] == "Call not found"
    assert fr["message"] == "l'appel est déjà en attente" and en["message"] == "the call is already on hold"
    # an unknown code gets its HTTP status's title; a message the catalog lacks stays as written
    assert error_text.title("brand-new-thing", 409, "en") == "Conflict"
    assert error_text.title("brand-new-thing", 503, "fr") == "Erreur interne"
    assert error_text.message("no call 42 in progress", "fr") == "no call 42 in progress"
