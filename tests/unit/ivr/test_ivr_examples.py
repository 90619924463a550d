"""The example scripts of ivr_scripts/: valid, and the issue's 'done means' scenarios on them."""

from __future__ import annotations

from pathlib import Path

import pytest
from ivr_helpers import Driver, only, paris

from ccserver.capabilities.ivr.loader import ValidationContext, check_files, load_script
from ccserver.capabilities.ivr.model import (
    Hangup,
    Lookup,
    Play,
    RequestCallback,
    SendToQueue,
    Transfer,
)
from ccserver.commands import demo

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = ROOT / "ivr_scripts"
# the examples run on the demo call center's queues and skills
QUEUES = frozenset(q.name for q in demo.QUEUES)
SKILLS = frozenset(demo.SKILLS)
CONTEXT = ValidationContext(queues=QUEUES, skills=SKILLS)


@pytest.fixture(scope="module")
def service_client():
    return load_script(SCRIPTS / "service-client.yaml", CONTEXT)


def test_example_scripts_are_valid():
    scripts, issues = check_files([SCRIPTS], CONTEXT)
    assert not issues, "\n".join(map(str, issues))
    assert {s.name for s in scripts} >= {"service-client", "astreinte"}


def test_two_level_walk_with_customer_number_reaches_the_right_queue(service_client):
    d = Driver(service_client, caller="0611111111", at=paris(2026, 7, 15, 10, 0))
    d.start()
    assert d.node == "accueil"
    d.press("1")  # français
    assert d.node == "bienvenue"  # open on a Wednesday morning
    d.played()
    lookup = only(d.actions[-2:], Lookup)
    assert (lookup.lookup, lookup.value) == ("phone", "0611111111")
    d.not_found()  # unknown caller number
    assert d.node == "saisie_numero_client"
    d.played()
    d.press("1234567")
    d.press("#")  # 7 digits: refused, asked again
    assert d.call.stats.node("service-client", "saisie_numero_client").invalid == 1
    replay = only(d.actions[-1:], Play)
    assert replay.media[0] == "sound:check-number-dial-again"
    d.played()
    d.press("12345678#")
    lookup = only(d.actions[-2:], Lookup)
    assert (lookup.lookup, lookup.value) == ("customer_id", "12345678")
    d.found({"id": "12345678", "name": "Mme Durand", "contract": "fibre-1G"})
    assert d.node == "menu_principal"
    d.played()
    d.press("2")  # assistance technique
    assert d.node == "menu_technique"
    out = d.press("1")  # internet
    queue = only(out, SendToQueue)
    assert queue.queue == "support"
    assert dict(queue.skills) == {"tech": 2}
    data = queue.call_data
    assert data["customer_id"] == "12345678"
    assert data["customer"]["name"] == "Mme Durand"
    assert data["menu_path"] == ["accueil:1", "menu_principal:2", "menu_technique:1"]
    assert data["menu_labels"] == ["Français", "Assistance technique", "Internet"]
    assert data["language"] == "fr"
    assert data["collected"] == {"numero_client": "12345678"}
    assert data["data"] == {"identification": "numero_client", "motif": "internet"}
    assert data["hours"] == "open"


def test_english_caller_recognised_by_number_goes_to_billing_dispute(service_client):
    d = Driver(service_client, at=paris(2026, 7, 15, 10, 0))
    d.start()
    d.press("2")
    d.press("5")  # interrupts the welcome
    d.found({"id": "C-77"})
    d.press("1")
    queue = only(d.press("3"), SendToQueue)
    assert (queue.queue, queue.priority, dict(queue.skills)) == ("billing", 5, {"billing": 3})
    assert queue.call_data["language"] == "en"
    assert queue.call_data["customer_id"] == "C-77"
    plays = [a for a in d.actions if isinstance(a, Play)]
    assert plays[0].language == "fr" and plays[1].language == "en"  # after the choice


@pytest.mark.parametrize("at", [paris(2026, 7, 14, 10, 0), paris(2026, 12, 25, 10, 0), paris(2027, 3, 29, 10, 0)])
def test_caller_on_a_holiday_hears_the_closed_branch(service_client, at):
    d = Driver(service_client, at=at)
    d.start()
    d.press("1")
    assert d.node == "ferme_jour_ferie"
    assert d.actions[-1].media == ("sound:sorry", "sound:please-try-call-later")
    d.played()
    d.press("1")  # be called back
    callback = only(d.actions, RequestCallback)
    assert (callback.number, callback.queue) == ("0612345678", "support")
    d.played()
    d.played()
    assert isinstance(d.actions[-1], Hangup)


def test_caller_at_night_hears_the_closed_branch(service_client):
    d = Driver(service_client, at=paris(2026, 7, 15, 21, 0))
    d.start()
    d.press("1")
    assert d.node == "ferme"


def test_language_menu_timeout_defaults_to_french(service_client):
    d = Driver(service_client)
    d.start()
    d.played()
    d.expire()
    assert d.node == "bienvenue" and d.call.call_data.language == "fr"


def test_menu_exhausted_goes_to_an_agent(service_client):
    d = Driver(service_client)
    d.start()
    d.press("1")
    d.played()
    d.found({"id": 1})
    for _ in range(3):
        d.played()
        d.expire()
    assert d.actions[-1].media == ("sound:pls-hold-while-try",)
    d.played()
    assert d.call.outcome == "queue:support"
    assert d.actions[-1].call_data["data"]["motif"] == "autre"


def test_astreinte_transfers_at_night(tmp_path):
    script = load_script(SCRIPTS / "astreinte.yaml", CONTEXT)
    d = Driver(script, at=paris(2026, 7, 15, 23, 0))
    d.start()
    d.press("1")
    d.played()
    assert only(d.actions, Transfer).number == "+33612345678"
    d = Driver(script, at=paris(2026, 12, 26, 10, 0))  # Saint-Étienne, Alsace-Moselle
    d.start()
    assert d.node == "astreinte_confirmation"
    d = Driver(script, at=paris(2026, 7, 15, 10, 0))
    assert only(d.start(), SendToQueue).queue == "support"
