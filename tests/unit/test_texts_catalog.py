"""The domain's messages (ccserver.core.text.Text) in French and English.

Every message id the code builds (``Text("...", name=value)``) has a French and an English text
with the same placeholders; a compliance refusal, an import rejection or an IVR validation error
comes out in the reader's language, the same one as ``str()`` (English) for logs and old clients.
"""

from __future__ import annotations

import ast
import json
import pickle
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccserver.adapters.web import error_text, i18n
from ccserver.capabilities.customers.model import parse_customer_csv
from ccserver.capabilities.ivr.loader import parse_script, validate_script
from ccserver.capabilities.outbound.compliance import Basis, CallRequest, OppositionFacts, decide
from ccserver.core.errors import InvalidInput
from ccserver.core.text import Text, join, with_texts

ROOT = Path(__file__).resolve().parents[2]


def messages_in_code(sources: dict[str, str]) -> dict[str, str]:
    """{msgid: "file:line"} of every ``Text("literal", ...)`` call in the sources."""
    found: dict[str, str] = {}
    for name, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Text" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.setdefault(first.value, f"{name}:{node.lineno}")
    return found


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\((\w+)\)[sr]", text))


def catalog_problems(used: dict[str, str], language: str) -> list[str]:
    """What a language's texts catalog lacks or gets wrong for the messages the code uses."""
    table = {m.id: m.string for m in i18n.catalog(language, "texts") if m.id}
    problems = []
    for msgid, where in sorted(used.items()):
        translated = table.get(msgid)
        if not translated:
            problems.append(f"{language}: no text for {msgid!r} ({where})")
        elif _placeholders(translated) != _placeholders(msgid):
            problems.append(f"{language}: {msgid!r} is translated with other placeholders: {translated!r}")
    return problems


def _code_sources() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in (ROOT / "ccserver").rglob("*.py")}


def test_every_message_of_the_code_has_a_french_and_an_english_text():
    """Fails when a Text(...) message id is missing from a catalog: run the pybabel commands
    of the README (babel-texts.cfg) and translate it in fr/LC_MESSAGES/texts.po (and en)."""
    used = messages_in_code(_code_sources())
    assert len(used) > 400, "too few messages found: is the scan right?"
    assert catalog_problems(used, "fr") == []
    assert catalog_problems(used, "en") == []


def test_the_check_reports_a_message_the_catalogs_lack():
    source = 'Text("no such widget %(name)r", name=w)\nText("no queue named %(name)r", name=q)\n'
    used = messages_in_code({"fake.py": source})
    assert set(used) == {"no such widget %(name)r", "no queue named %(name)r"}
    for language in ("fr", "en"):
        assert catalog_problems(used, language) == [f"{language}: no text for 'no such widget %(name)r' (fake.py:1)"]


# written the same in both languages (field names of the scripts, words French shares)
SAME_IN_FRENCH = {"%(number)r %(why)s", "schedule %(days)s", "special_days %(day)s", "mobile", "polyvalent"}


def test_the_french_catalog_translates_every_text():
    fr = {m.id: m.string for m in i18n.catalog("fr", "texts") if m.id}
    same = [msgid for msgid, text in fr.items() if text == msgid and re.search(r"[a-z]{4}", msgid)]
    assert sorted(set(same) - SAME_IN_FRENCH) == [], "French texts left in English"


def test_a_text_is_its_english_rendering_and_renders_in_each_language():
    text = Text("no queue named %(name)r", name="ventes")
    assert text == "no queue named 'ventes'" and isinstance(text, str)
    assert i18n.render(text, "en") == "no queue named 'ventes'"
    assert i18n.render(text, "fr") == "aucune file nommée 'ventes'"
    assert pickle.loads(pickle.dumps(text)).params == {"name": "ventes"}
    assert Text.from_json(text.as_json()) == text
    assert i18n.render("a plain string", "fr") == "a plain string"


def test_nested_and_joined_texts_render_in_the_reader_language():
    reasons = join("; ", [Text("no refusal on record"), Text("no caller ID given")])
    outer = Text("the compliance engine forbids this call now (%(reasons)s)", reasons=reasons)
    assert outer == "the compliance engine forbids this call now (no refusal on record; no caller ID given)"
    assert i18n.render(outer, "fr") == (
        "le moteur de conformité interdit cet appel maintenant (aucun refus enregistré ; aucun numéro présenté donné)"
    ).replace(" ; ", "; ")
    assert Text.from_json(outer.as_json()) == outer


def test_a_value_is_never_taken_as_a_placeholder():
    text = Text("no queue named %(name)r", name="%(x)s 100%")
    assert i18n.render(text, "fr") == "aucune file nommée '%(x)s 100%'"


def test_localize_renders_stored_records_again():
    record = with_texts({"rule": "dnc.company_list", "explanation": Text("no caller ID given")})
    stored = {"reasons": [dict(record, explanation=str(record["explanation"]))]}  # as JSON keeps it
    assert i18n.localize(stored, "fr")["reasons"][0]["explanation"] == "aucun numéro présenté donné"
    assert i18n.localize(stored, "en")["reasons"][0]["explanation"] == "no caller ID given"
    assert i18n.localize(stored, "fr")["reasons"][0]["explanation_text"] == record["explanation_text"]


SATURDAY_NIGHT = datetime(2026, 5, 9, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("request_", "facts", "at"),
    [
        (CallRequest("0612345678"), OppositionFacts(company_dnc=True), SATURDAY_NIGHT),
        (CallRequest("0812345678", caller_id="0612345678"), OppositionFacts(bloctel_listed=True), SATURDAY_NIGHT),
        (CallRequest("12", postcode="99999"), OppositionFacts(), datetime(2026, 9, 1, 9, 0, tzinfo=UTC)),
        (
            CallRequest("0148000000", basis=Basis.CONTRACT, outside_hours_consent=True),
            OppositionFacts(bloctel_listed=False, bloctel_scrubbed_at=datetime(2026, 1, 1, tzinfo=UTC)),
            datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
        ),
    ],
)
def test_every_compliance_explanation_has_its_french_and_english_text(request_, facts, at):
    decision = decide(request_, facts=facts, at=at)
    for reason in decision.reasons:
        assert isinstance(reason.explanation, Text), reason.rule
        english, french = i18n.render(reason.explanation, "en"), i18n.render(reason.explanation, "fr")
        assert english == reason.explanation
        assert french != english, (reason.rule, french)
        stored = reason.as_dict()
        assert stored["explanation"] == english and stored["explanation_text"]["id"] == reason.explanation.msgid


def test_a_refused_call_error_shows_in_the_users_language():
    error = InvalidInput(Text("no queue named %(name)r", name="x"), field="queue", queue="x")
    for language, expected in (("fr", "aucune file nommée 'x'"), ("en", "no queue named 'x'")):
        shown = error_text.as_dict(error, language)
        assert shown["message"] == expected
        assert shown["code"] == "invalid-input" and shown["details"] == {"field": "queue", "queue": "x"}


def test_import_rejections_and_ivr_errors_are_translatable():
    preview = parse_customer_csv(b"telephone;email\n06 12 34;bad\n", "c.csv")
    reasons = {r.field: r.reason for r in preview.rejected}
    assert i18n.render(reasons["email"], "fr") == "'bad' n'est pas une adresse e-mail (nom@domaine.tld)"
    assert "n'est pas un numéro" in i18n.render(reasons["phone"], "fr") or "court" in i18n.render(
        reasons["phone"], "fr"
    )
    script = parse_script("script: demo\nentry: a\nnodes:\n  a: {type: menu}\n", "demo.yaml")
    shown = {i18n.render(issue.message, "fr") for issue in validate_script(script)}
    assert "champ « prompt » manquant pour un nœud menu" in shown
    english = {issue.as_dict()["message"] for issue in validate_script(script)}
    assert "missing field 'prompt' for a menu node" in english


async def test_a_live_update_carries_the_domain_messages_in_each_pages_language():
    from ccserver.adapters.web.auth import CurrentUser
    from ccserver.adapters.web.realtime import RealtimeClient, RealtimeHub

    hub = RealtimeHub()
    pages = {}
    for n, language in enumerate(("fr", "en", "fr")):
        user = CurrentUser(id=n, username=f"u{n}", role="supervisor", display_name="", csrf_token="")
        pages[n] = RealtimeClient(user=user, ws=None, language=language)
        hub.clients.add(pages[n])
    message = {"topic": "import", "rejected": [with_texts({"line": 3, "reason": Text("no caller ID given")})]}
    assert hub.broadcast(message) == 3
    got = {n: json.loads(client.queue.get_nowait()) for n, client in pages.items()}
    assert got[0]["rejected"][0]["reason"] == got[2]["rejected"][0]["reason"] == "aucun numéro présenté donné"
    assert got[1]["rejected"][0]["reason"] == "no caller ID given"
    assert got[0]["rejected"][0]["reason_text"] == got[1]["rejected"][0]["reason_text"]
