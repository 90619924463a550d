"""The IVR engine on the real Asterisk: a caller (a Local channel whose keys are sent with AMI
PlayDTMF; Asterisk reports them as ChannelDtmfReceived on the Stasis leg) walks the example
two-level script, types a customer number and reaches the right queue with the call data; retry
rules, holidays, run-time errors, script changes during a call, refused uploads."""

from __future__ import annotations

import asyncio
import logging
import re
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ccserver.adapters.db.ivr import IvrStatsRepository
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.ivr.handlers import IvrCallEnded, IvrSession
from ccserver.commands import demo
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock
from ccserver.core.ports import OriginateRequest
from tests.support.server import Server, endpoint_of, until

pytestmark = pytest.mark.asterisk
logger = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "ivr_scripts" / "service-client.yaml"
# the example runs on the demo's queues and skills
QUEUES = tuple(q.name for q in demo.QUEUES)
SKILLS = tuple(demo.SKILLS)
# the example's stock prompts last a few seconds: short tones stand in so that the tests do not
# wait for them (distinct ones where a test tells the branches apart by what the caller heard);
# test_ivr_to_agent.py runs the example as shipped
PROMPTS = {"ferme_jour_ferie": "descending-2tone", "ferme": "ascending-2tone"}
OPEN_DAY = datetime(2026, 7, 15, 10, 0, tzinfo=PARIS)  # a Wednesday, open
BASTILLE_DAY = datetime(2026, 7, 14, 10, 0, tzinfo=PARIS)  # a Tuesday, public holiday
KNOWN_CALLER = "0611111111"  # in the customer directory: identified by their number
UNKNOWN_CALLER = "0699999999"


def example_text(version: str | None = None) -> str:
    lines, node = [], ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := re.fullmatch(r"  ([A-Za-z0-9_.-]+):", line):
            node = match.group(1)
        if match := re.fullmatch(r"(\s+)(prompt|on_timeout|on_invalid): .*", line):
            sound = "beeperr" if match.group(2) != "prompt" else PROMPTS.get(node, "beep")
            line = f"{match.group(1)}{match.group(2)}: {sound}"
        lines.append(line)
    text = "\n".join(lines) + "\n"
    if version:
        text = text.replace('version: "2026.1"', f'version: "{version}"')
    return text


@asynccontextmanager
async def ivr_server(asterisk, tmp_path, *, clock=None, scripts: dict[str, str] | None = None):
    """A ccserver on the test Asterisk with the ACD's queues and skills, one customer, and the
    given scripts (default: the example) in its scripts directory."""
    scripts_dir = tmp_path / "ivr_scripts"
    scripts_dir.mkdir()
    for name, text in (scripts or {"service-client.yaml": example_text()}).items():
        (scripts_dir / name).write_text(text, encoding="utf-8")
    srv = Server(
        tmp_path,
        endpoint_of(asterisk.info),
        config_writer=asterisk,
        clock=clock or ManualClock(OPEN_DAY),
        ivr={"scripts_dir": scripts_dir, "stats_flush_interval": 3600.0},
    )
    runtime = srv.runtime
    await asyncio.to_thread(runtime.database.upgrade)
    for skill in SKILLS:
        await asyncio.to_thread(runtime.acd_repo.add_skill, skill)
    for queue in QUEUES:
        await asyncio.to_thread(runtime.acd_repo.save_queue, QueueDefinition(name=queue), create=True)
    await asyncio.to_thread(
        runtime.customers.create_customer,
        customer_number="12345678",
        last_name="Martin",
        first_name="Alice",
        phones=[KNOWN_CALLER],
    )
    async with srv:
        await until(srv.ok, 15)
        await until(lambda: runtime.ivr.dialplan_applied, 10)

        async def queues_loaded():
            out = await asyncio.to_thread(asterisk.cli, "queue show support")
            return "No such queue" not in out

        await until(queues_loaded, 10)
        yield srv


class Caller:
    """A call into the IVR: a Local channel (;2 runs the dialplan into Stasis, ;1 waits) whose
    keys are sent with AMI PlayDTMF on ;1."""

    def __init__(self, srv: Server, number: str = "0140000300", caller_id: str = UNKNOWN_CALLER):
        self.srv, self.number, self.caller_id = srv, number, caller_id
        self.session: IvrSession | None = None
        self.leg1 = ""

    @property
    def engine(self):
        return self.srv.runtime.ivr_engine

    async def dial(self, timeout: float = 10) -> IvrSession:
        prefix = f"Local/{self.number}@ccserver-inbound"
        seen: list[IvrSession] = []
        watcher = seen.append
        self.engine.on_session.append(watcher)
        try:
            await self.srv.runtime.pbx.ami.originate(
                OriginateRequest(channel=prefix, application="Wait", data="60", caller_id=self.caller_id)
            )
            self.session = await until(lambda: next((s for s in seen if s.channel.startswith(prefix)), None), timeout)
            # the session exists as soon as StasisStart arrives; the call once it is routed
            await until(lambda: self.session.call is not None or self.session.closed or self.session.left, timeout)
        finally:
            self.engine.on_session.remove(watcher)
        self.leg1 = self.session.channel[:-1] + "1"
        return self.session

    @property
    def call(self):
        return self.session.call

    async def at(self, node: str, timeout: float = 10) -> None:
        await until(lambda: self.call is not None and self.call.node_id == node, timeout)

    async def waiting_at(self, node: str, timeout: float = 10) -> None:
        """At `node`, its prompt played: the caller is expected to press a key."""
        await until(
            lambda: self.call is not None and self.call.node_id == node and self.call.phase in ("waiting", "digits"),
            timeout,
        )

    async def press(self, keys: str) -> None:
        for key in keys:
            await self.srv.runtime.pbx.ami.send(
                {"Action": "PlayDTMF", "Channel": self.leg1, "Digit": key, "Duration": 60}
            )
            await asyncio.sleep(0.12)

    async def left_ivr(self, timeout: float = 10) -> IvrSession:
        await until(lambda: self.session.channel_id not in self.engine.sessions, timeout)
        return self.session

    async def hangup(self) -> None:
        try:
            await self.srv.runtime.pbx.ami.hangup(self.leg1)
        except Exception:  # already gone
            pass

    async def getvar(self, name: str) -> str:
        reply = await self.srv.runtime.pbx.ami.send(
            {"Action": "Getvar", "Channel": self.session.channel, "Variable": name}
        )
        return reply.get("Value", "")


def joined(srv: Server, uniqueid: str, queue: str):
    return next(
        (e for e in srv.events if isinstance(e, ev.QueueCallerJoined) and e.uniqueid == uniqueid and e.queue == queue),
        None,
    )


def call_data(srv: Server, uniqueid: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for e in srv.events:
        if isinstance(e, ev.CallDataSet) and e.uniqueid == uniqueid:
            data.update(e.data)
    return data


async def stored_counters(srv: Server) -> dict:
    await srv.runtime.ivr.flush_stats()
    return await asyncio.to_thread(IvrStatsRepository(srv.runtime.database).totals)


# --- the example, end to end --------------------------------------------------------------------


async def test_caller_walks_two_level_menu_types_customer_number_and_reaches_billing_queue(asterisk, tmp_path):
    async with ivr_server(asterisk, tmp_path) as srv:
        caller = Caller(srv, "0140000300", UNKNOWN_CALLER)
        session = await caller.dial()
        cid = session.channel_id
        assert session.call.script.name == "service-client"
        await caller.at("accueil")
        await caller.press("1")  # Français (during the prompt: barge-in)
        await caller.waiting_at("saisie_numero_client")  # caller's number unknown: type it
        await caller.press("12345678#")
        await caller.at("menu_principal")
        await caller.press("1")  # Facturation
        await caller.at("menu_facturation")
        await caller.press("2")  # Paiement et prélèvement
        await until(lambda: joined(srv, cid, "billing"), 10)
        await caller.left_ivr()
        assert session.handover == ("ccq-billing", "open", 1)

        # what the IVR learned travels with the call: CallDataSet (call record, screen-pop)...
        data = call_data(srv, cid)
        assert data["customer_id"] == "12345678"
        assert data["menu_path"] == "accueil:1,menu_principal:1,menu_facturation:2"
        assert data["menu_labels"] == "Français > Facturation > Paiement et prélèvement"
        assert data["language"] == "fr"
        assert data["ivr_script"] == "service-client" and data["ivr_version"] == "2026.1"
        assert data["data.motif"] == "paiement"
        assert '"last_name": "Martin"' in data["customer"]
        record = await until(lambda: srv.runtime.call_tracker.open.get(cid), 5)
        assert record.queue == "billing"
        assert dict(record.data)["customer_id"] == "12345678"  # what the screen-pop reads
        # ... and as channel variables, in the queue
        assert await caller.getvar("IVR_CUSTOMER_ID") == "12345678"
        assert await caller.getvar("IVR_MENU_PATH") == "accueil:1,menu_principal:1,menu_facturation:2"
        assert await caller.getvar("IVR_LANGUAGE") == "fr"
        assert await caller.getvar("QUEUE_PRIO") == "0"
        assert await caller.getvar("IVR_SKILLS") == "billing:1"
        ended = await until(
            lambda: next((e for e in srv.events if isinstance(e, IvrCallEnded) and e.uniqueid == cid), None), 5
        )
        assert ended.outcome == "queue:billing"

        # statistics per script, version and node, stored for reporting
        counters = await stored_counters(srv)
        key = ("service-client", "2026.1")
        assert counters[(*key, "", "calls")] == 1
        assert counters[(*key, "", "outcome:queue:billing")] == 1
        assert counters[(*key, "accueil", "choice:1")] == 1
        assert counters[(*key, "menu_principal", "choice:1")] == 1
        assert counters[(*key, "menu_facturation", "choice:2")] == 1
        assert counters[(*key, "saisie_numero_client", "entered")] == 1
        latency = srv.runtime.ivr_engine.stats()["dtmf_latency_ms"]
        logger.info("DTMF -> actions done: %s", latency)
        assert latency["count"] >= 4 and latency["p50"] < 100
        await caller.hangup()


async def test_invalid_keys_and_timeouts_follow_the_retry_rules(asterisk, tmp_path):
    async with ivr_server(asterisk, tmp_path) as srv:
        caller = Caller(srv, "300", KNOWN_CALLER)  # the extension route; caller identified
        session = await caller.dial()
        cid = session.channel_id
        await caller.waiting_at("accueil")
        # no key: accueil has timeout 4 s and retries 0 -> on_exhausted (French)
        await caller.at("menu_principal", timeout=8)
        assert session.call.call_data.customer_id == "12345678"  # found by the caller's number
        await caller.press("9")  # not a choice: on_invalid prompt, then the menu again
        await until(lambda: "sound:beeperr" in session.played, 5)
        await caller.waiting_at("menu_principal")
        await caller.press("9")
        await caller.waiting_at("menu_principal")
        await caller.press("9")  # 3 wrong keys with retries 2: on_exhausted (an advisor)
        await until(lambda: joined(srv, cid, "support"), 10)
        assert session.call.call_data.menu_path == []
        assert session.played.count("sound:beeperr") == 2  # on_invalid twice, then exhausted
        counters = await stored_counters(srv)
        key = ("service-client", "2026.1")
        assert counters[(*key, "accueil", "timeouts")] == 1
        assert counters[(*key, "accueil", "exhausted")] == 1
        assert counters[(*key, "menu_principal", "invalid")] == 3
        assert counters[(*key, "menu_principal", "exhausted")] == 1
        assert counters[(*key, "", "outcome:queue:support")] == 1
        await caller.hangup()


async def test_caller_on_a_public_holiday_hears_the_closed_branch(asterisk, tmp_path):
    async with ivr_server(asterisk, tmp_path, clock=ManualClock(BASTILLE_DAY)) as srv:
        caller = Caller(srv, "+33140000300", UNKNOWN_CALLER)
        session = await caller.dial()
        await caller.at("accueil")
        await caller.press("1")
        await caller.waiting_at("ferme_choix")
        assert session.call.call_data.hours == "holiday"
        assert "sound:descending-2tone" in session.played  # ferme-jour-ferie
        assert "sound:ascending-2tone" not in session.played  # not the out-of-hours one
        await caller.press("5")  # leave a message
        await caller.left_ivr()
        assert session.handover == ("ccserver-ivr-voicemail", "s", 1)
        assert session.call.outcome == "voicemail"
        assert (await until(lambda: call_data(srv, session.channel_id), 5))["ivr_hours"] == "holiday"
        await caller.hangup()


async def test_sipp_caller_with_rfc2833_keys_types_customer_number_and_reaches_queue(asterisk, tmp_path):
    """A real SIP call through the [customers] trunk; the keys are RFC 4733 events in the
    caller's RTP stream, at times fitting the example's prompts (stock beeps of ~0.44 s)."""
    from tests.support.sipp import SippCaller

    async with ivr_server(asterisk, tmp_path) as srv:
        engine = srv.runtime.ivr_engine
        seen: list[IvrSession] = []
        engine.on_session.append(seen.append)
        keys = [
            (1.0, "1"),  # accueil: Français
            (3.0, "12345678#"),  # saisie_numero_client (prompt over at ~2.4 s)
            (6.5, "1"),  # menu_principal: Facturation
            (8.0, "2"),
        ]  # menu_facturation: Paiement
        sipp = SippCaller(asterisk, "0140000300", UNKNOWN_CALLER, dtmf=keys, talk_seconds=11)
        await sipp.start()
        try:
            session = await until(lambda: seen[0] if seen else None, 10)
            assert session.channel.startswith("PJSIP/customers")
            await until(lambda: joined(srv, session.channel_id, "billing"), 15)
            data = call_data(srv, session.channel_id)
            assert data["customer_id"] == "12345678"
            assert data["menu_path"] == "accueil:1,menu_principal:1,menu_facturation:2"
            assert session.call.call_data.collected == {"numero_client": "12345678"}
            result = await sipp.wait(20)  # the caller hangs up (BYE) while waiting in the queue
            assert result.answered
        finally:
            await sipp.stop()


# --- errors never strand the caller -----------------------------------------------------------


async def test_lookup_that_breaks_the_script_sends_the_caller_to_the_fallback(asterisk, tmp_path):
    async with ivr_server(asterisk, tmp_path) as srv:

        async def faulty_lookup(kind: str, value: str):
            return 42  # not a customer record: the runtime raises on it

        srv.runtime.ivr.lookup = faulty_lookup
        caller = Caller(srv, "0140000300", UNKNOWN_CALLER)
        session = await caller.dial()
        cid = session.channel_id
        await caller.at("accueil")
        await caller.press("1")
        # identification_appelant fails -> fallback node 'debordement' (queue support)
        await until(lambda: joined(srv, cid, "support"), 10)
        await caller.left_ivr()
        assert session.call.call_data.error.startswith("identification_appelant: TypeError")
        assert call_data(srv, cid)["ivr_error"].startswith("identification_appelant")
        counters = await stored_counters(srv)
        assert counters[("service-client", "2026.1", "identification_appelant", "errors")] == 1
        await caller.hangup()


BROKEN_SCRIPT = """\
script:
  name: fragile
  version: "1"
  entry: qui
  routes:
    extensions: ["7100"]
nodes:
  qui:
    type: lookup
    from: caller_number
    found: bonjour
    not_found: bonjour
  bonjour:
    type: play
    prompt: "digits:{customer.telephone_fixe}"
    next: fin
  fin:
    type: hangup
"""


async def test_script_failing_without_fallback_node_leaves_stasis_for_dialplan_fallback(asterisk, tmp_path):
    async with ivr_server(asterisk, tmp_path, scripts={"fragile.yaml": BROKEN_SCRIPT}) as srv:
        caller = Caller(srv, "7100", KNOWN_CALLER)
        session = await caller.dial()
        # the customer record has no 'telephone_fixe': the prompt cannot be rendered
        session = await caller.left_ivr()
        assert session.handover == ("ccserver-ivr-fallback", "s", 1)
        assert session.call.outcome == "fallback"
        assert "telephone_fixe" in session.call.call_data.error
        stasis_end = await until(
            lambda: any(isinstance(e, ev.StasisEnded) and e.uniqueid == session.channel_id for e in srv.events), 5
        )
        assert stasis_end
        await caller.hangup()


async def test_engine_exception_is_logged_and_caller_sent_to_fallback(asterisk, tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="ccserver.capabilities.ivr.handlers")
    async with ivr_server(asterisk, tmp_path) as srv:
        engine = srv.runtime.ivr_engine
        real = engine._execute
        broken = {"done": False}

        async def execute(s, action):
            if action.kind == "lookup" and not broken["done"]:
                broken["done"] = True
                raise RuntimeError("simulated engine bug")
            return await real(s, action)

        engine._execute = execute
        caller = Caller(srv, "0140000300", UNKNOWN_CALLER)
        session = await caller.dial()
        await caller.at("accueil")
        await caller.press("1")
        await until(lambda: joined(srv, session.channel_id, "support"), 10)  # debordement
        assert any(
            session.channel_id in r.getMessage() and "simulated engine bug" in r.getMessage() for r in caplog.records
        )
        await caller.hangup()


# --- versions -------------------------------------------------------------------------------------


async def test_new_version_activated_mid_call_does_not_change_that_call(asterisk, tmp_path):
    async with ivr_server(asterisk, tmp_path) as srv:
        caller = Caller(srv, "0140000300", KNOWN_CALLER)
        session = await caller.dial()
        cid = session.channel_id
        await caller.at("accueil")
        await caller.press("1")
        await caller.at("menu_principal")
        # v2: choice 1 now leads to the sales queue, and the billing sub-menu is gone
        v2 = example_text("2026.2").replace(
            '"1": {next: menu_facturation, label: Facturation}', '"1": {next: motif_commercial, label: Commercial}'
        )
        v2 = re.sub(
            r"\n  # --- sous-menu facturation -+\n.*?\n  # --- sous-menu assistance",
            "\n  # --- sous-menu assistance",
            v2,
            flags=re.S,
        )
        v2 = v2.replace("on_exhausted: file_facturation", "on_exhausted: file_technique")
        activated = await srv.runtime.ivr.upload(v2, "service-client.yaml", "test")
        assert activated.version == "2026.2"
        await caller.press("1")  # v1: Facturation
        await caller.at("menu_facturation")
        await caller.press("3")  # Contestation: priority queue
        await until(lambda: joined(srv, cid, "billing"), 10)
        assert call_data(srv, cid)["ivr_version"] == "2026.1"
        assert call_data(srv, cid)["data.motif"] == "contestation"
        assert await caller.getvar("QUEUE_PRIO") == "5"
        await caller.hangup()

        # a new call runs the new version
        second = Caller(srv, "0140000300", KNOWN_CALLER)
        s2 = await second.dial()
        assert s2.call.script.version == "2026.2"
        await second.at("accueil")
        await second.press("1")
        await second.at("menu_principal")
        await second.press("1")
        await until(lambda: joined(srv, s2.channel_id, "billing"), 10)
        assert call_data(srv, s2.channel_id)["data.motif"] == "commercial"  # sales, via v2
        await second.hangup()
        counters = await stored_counters(srv)
        assert counters[("service-client", "2026.1", "menu_principal", "choice:1")] == 1
        assert counters[("service-client", "2026.2", "menu_principal", "choice:1")] == 1


# --- administration ---------------------------------------------------------------------------


async def test_invalid_upload_is_refused_with_file_line_node_and_active_version_stays(asterisk, tmp_path):
    async with ivr_server(asterisk, tmp_path) as srv:
        await asyncio.to_thread(
            srv.runtime.users.create_user, "admin1", "correct horse battery", role="admin", display_name="Admin"
        )
        admin = await srv.login("admin1", "correct horse battery")
        bad = example_text("2026.9").replace(
            'prompt: beep\n    choices:\n      "1": {next: langue_fr',
            'prompt: custom/absent\n    choices:\n      "1": {next: langue_fr',
        )
        bad = re.sub(r"(  file_commercial:\n    type: queue\n    queue: )billing", r"\1inconnue", bad)
        assert bad.count("inconnue") == 1
        assert bad.count("custom/absent") == 1
        resp = await admin.post(
            "/api/ivr/scripts",
            json={"filename": "service-client.yaml", "text": bad},
            headers={"X-CSRF-Token": admin.csrf},
        )
        assert resp.status == 400
        errors = (await resp.json())["details"]["errors"]
        by_node = {e["node"]: e for e in errors}
        assert by_node["accueil"]["message"] == "missing prompt file 'custom/absent'"
        assert by_node["file_commercial"]["message"].startswith("unknown queue 'inconnue'")
        assert {e["file"] for e in errors} == {"service-client.yaml"}
        lines = bad.splitlines()
        assert "custom/absent" in lines[by_node["accueil"]["line"] - 1]
        assert "inconnue" in lines[by_node["file_commercial"]["line"] - 1]
        assert srv.runtime.ivr.registry.active("service-client").version == "2026.1"
        # the routes in Asterisk are those of the active scripts
        shown = await asyncio.to_thread(asterisk.cli, "dialplan show ccserver-ivr-routes")
        assert "0140000300" in shown and "+33140000300" in shown and "'300'" in shown
        assert f"Stasis({srv.runtime.pbx.endpoint.ari_app},ivr,service-client,did)" in shown
        await admin.close()


LANGUAGE_SCRIPT = """\
script:
  name: langue
  entry: accueil
  language: fr
  routes:
    extensions: ["3457"]
nodes:
  accueil:
    type: menu
    prompt: beep
    choices:
      "1": {next: anglais}
    timeout: 30
    retries: 0
    on_exhausted: fin
  anglais:
    type: set
    language: en
    next: menu_en
  menu_en:
    type: menu
    prompt: beep
    choices:
      "1": {next: fin}
    timeout: 30
    retries: 0
    on_exhausted: fin
  fin: {type: hangup}
"""


async def test_the_callers_channel_speaks_the_scripts_language_and_an_uninstalled_one_is_refused(asterisk, tmp_path):
    """The script's declared language (and a set node's) becomes the caller's CHANNEL(language);
    a script in a language Asterisk has no sounds for is refused at its file and line."""
    async with ivr_server(asterisk, tmp_path, scripts={"langue.yaml": LANGUAGE_SCRIPT}) as srv:
        caller = Caller(srv, "3457", UNKNOWN_CALLER)
        await caller.dial()
        await caller.waiting_at("accueil")
        assert await caller.getvar("CHANNEL(language)") == "fr"
        await caller.press("1")
        await caller.waiting_at("menu_en")
        assert await caller.getvar("CHANNEL(language)") == "en"
        await caller.hangup()

        await asyncio.to_thread(
            srv.runtime.users.create_user, "admin1", "correct horse battery", role="admin", display_name="Admin"
        )
        admin = await srv.login("admin1", "correct horse battery")
        german = LANGUAGE_SCRIPT.replace("language: fr", "language: de")
        resp = await admin.post(
            "/api/ivr/scripts", json={"filename": "langue.yaml", "text": german}, headers={"X-CSRF-Token": admin.csrf}
        )
        assert resp.status == 400
        (error,) = (await resp.json())["details"]["errors"]
        assert error["file"] == "langue.yaml" and error["line"] == 4
        assert error["message"].startswith("language: Asterisk has no sounds in 'de' (installed: ")
        assert "fr" in error["message"]
        await admin.close()
