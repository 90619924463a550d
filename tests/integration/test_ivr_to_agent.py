"""From the IVR to the agent, on the real Asterisk: the shipped example script, as shipped (stock
Asterisk sounds, the demo's queues and skills), walked by a sipp caller pressing RFC 4733 keys;
the agent's page gets the screen-pop — the customer found from the number the caller TYPED, the
menu path — while the agent's phone (sipp) still rings; the call row keeps the IVR's data."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

import pytest

from ccserver.capabilities.agents.model import AgentState
from ccserver.capabilities.ivr.service import resolve_in_root
from ccserver.cli import main
from ccserver.commands import demo
from ccserver.core import events as ev
from tests.integration.test_inbound import log_in, start_phones
from tests.support.ivr_walk import (
    CALLER,
    CUSTOMER_NUMBER,
    MENU_PATH,
    RING_SECONDS,
    SCRIPTS,
    add_customer,
    add_demo_queues,
    ivr_server,
    walking_caller,
)
from tests.support.server import until
from tests.support.sipp import Answer, SippCaller

pytestmark = pytest.mark.asterisk
logger = logging.getLogger(__name__)

NIGHT = datetime(2026, 7, 15, 21, 0, tzinfo=ZoneInfo("Europe/Paris"))  # closed
# accueil: Français; 'ferme' (2.8 s, not interruptible) is over at ~4.3 s, then ferme_choix
# (4.7 s of prompt, keys barge in): 5, leave a message
NIGHT_KEYS = [(1.5, "1"), (6.5, "5")]


def sounds_dir(instance) -> Path:
    """The host path of the private Asterisk's English sounds (inside its root in chroot
    mode), as the IVR service checks them."""
    env = instance.environment
    data = env.find_dir(("/usr/share/asterisk", "/var/lib/asterisk"), "data")
    return resolve_in_root(env.root if env.mode == "chroot" else None, PurePosixPath(data) / "sounds" / "en")


def test_shipped_scripts_pass_the_check_with_the_demo_queues_and_the_asterisk_sounds(asterisk, capsys):
    """`ccserver ivr check ivr_scripts/*.yaml` with the demo's queues and skills and the
    sounds of the real Debian Asterisk: every prompt of the examples exists."""
    sounds = sounds_dir(asterisk)
    assert (sounds / "vm-goodbye.gsm").exists(), sounds
    files = [str(p) for p in sorted(SCRIPTS.glob("*.yaml"))]
    code = main(
        [
            "ivr",
            "check",
            *files,
            "--queues",
            ",".join(q.name for q in demo.QUEUES),
            "--skills",
            ",".join(demo.SKILLS),
            "--sounds-dir",
            str(sounds),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert f"OK: {len(files)} script(s) valid" in out and "not checked" not in err


async def test_ivr_caller_typing_customer_number_pops_that_customer_and_menu_path_while_ringing(asterisk, tmp_path):
    async with ivr_server(asterisk, tmp_path) as srv:
        rt = srv.runtime
        await until(srv.ok, 15)

        # no queue yet: the scripts are refused; creating the demo's queues activates them
        # (the IVR reloads when the ACD applies its queues: nobody reloads by hand)
        assert rt.ivr.registry.names() == []
        assert any("unknown queue" in issue.message for issue in rt.ivr.load_issues["ivr_scripts/service-client.yaml"])
        await add_demo_queues(rt, ["astreinte", "service-client"])
        assert rt.ivr.load_issues == {} and rt.ivr.queue_reloads >= 1
        routes = await asyncio.to_thread(asterisk.cli, "dialplan show ccserver-ivr-routes")
        assert "'0140000300'" in routes and "'300'" in routes
        # the agents' phones reach it too (to try it in the demo)
        from_agents = await asyncio.to_thread(asterisk.cli, "dialplan show 300@ccserver-agents")
        assert f"Stasis({rt.pbx.endpoint.ari_app},ivr,service-client,exten)" in from_agents

        # the agent, on the phone (rings 4 s before answering) and on their page
        account = await rt.acd.create_agent(
            "alice", "password-1234", "Alice Martin", {"fr": 9, "tech": 8, "billing": 3}, actor="admin"
        )
        phones = await start_phones(
            asterisk, {"alice": account}, alice=Answer(ring_seconds=RING_SECONDS, talk_seconds=3)
        )
        phone = phones["alice"]
        page = None
        try:
            await log_in(rt, "alice")
            page = await srv.login("alice", "password-1234")
            ws = await page.ws_connect("/ws")
            assert (await ws.receive_json(timeout=3))["topic"] == "hello"
            customer = await add_customer(rt, first_name="Camille", last_name="Lefèvre")

            caller = walking_caller(asterisk)
            await caller.start()
            pop = None
            while pop is None:
                message = await ws.receive_json(timeout=25)
                if message.get("topic") == "screen_pop":
                    pop = message
            popped_at = time.monotonic()
            # while the phone rings: not answered yet, the agent is ringing
            assert rt.agent_board.agents["alice"].state is AgentState.RINGING
            assert phone.calls_answered == 0
            [offered] = await until(lambda: phone.calls, 3)  # sipp's log may lag the pop
            assert offered.answered_at is None

            # the customer found from the number typed, not from the caller's number
            assert pop["found"] is True
            assert pop["customer"]["id"] == customer.id
            assert pop["customer"]["customer_number"] == CUSTOMER_NUMBER
            assert pop["customer"]["last_name"] == "Lefèvre"
            assert pop["caller_number"] == CALLER and pop["queue"] == "support"
            data = pop["call_data"]
            assert data["customer_id"] == CUSTOMER_NUMBER
            assert data["collected.numero_client"] == CUSTOMER_NUMBER
            assert data["menu_path"] == MENU_PATH
            assert data["menu_labels"] == "Français > Assistance technique > Internet"
            assert data["data.identification"] == "numero_client"
            assert data["data.motif"] == "internet"
            assert data["language"] == "fr" and data["ivr_outcome"] == "queue:support"
            assert (data["ivr_script"], data["ivr_version"]) == ("service-client", "2026.1")

            await phone.wait_calls("answered", 1, timeout=10)
            [answered] = phone.calls
            logger.info(
                "screen-pop %.2f s after the phone started ringing, %.2f s before it was answered (lookup %.1f ms)",
                popped_at - answered.offered_at,
                answered.answered_at - popped_at,
                pop["lookup_ms"],
            )
            assert answered.answered_at - popped_at > 1.0  # well before the answer
            result = await caller.wait(30)  # the agent hangs up after 3 s: BYE to the caller
            assert result.answered

            # the call row carries the IVR's data
            await until(lambda: not rt.call_tracker.open, 15)
            await rt.call_writer.flush_now()
            rows = await asyncio.to_thread(rt.acd_repo.calls)
            [row] = [r for r in rows if r.caller_number == CALLER]
            assert (row.queue, row.agent, row.outcome) == ("support", "alice", "answered")
            stored = json.loads(row.call_data)
            assert stored["customer_id"] == CUSTOMER_NUMBER
            assert stored["menu_path"] == MENU_PATH
            assert stored["menu_labels"] == "Français > Assistance technique > Internet"
            assert stored["ivr_script"] == "service-client"
            assert json.loads(stored["customer"])["customer_number"] == CUSTOMER_NUMBER
            ended = [e for e in srv.events if isinstance(e, ev.CallDataSet) and e.uniqueid == row.uniqueid]
            assert ended, "the IVR's CallDataSet of that call"
            await ws.close()
        finally:
            if page is not None:
                await page.close()
            for p in phones.values():
                await p.stop()


async def test_caller_out_of_hours_leaves_a_message_in_the_example_mailbox(asterisk, tmp_path):
    """The closed branch of the example as shipped: the caller chooses to leave a message; it
    lands in the mailbox the private Asterisk defines for it (8000@service-client)."""
    inbox = asterisk.info.instance_dir / "spool" / "voicemail" / "service-client" / "8000" / "INBOX"
    before = set(inbox.glob("msg*.txt")) if inbox.is_dir() else set()
    async with ivr_server(asterisk, tmp_path, clock=NIGHT, scripts="service-client.yaml") as srv:
        rt = srv.runtime
        await until(srv.ok, 15)
        await add_demo_queues(rt, ["service-client"])
        # VoiceMail's greeting for an unknown person (~12 s), the tone, then ~6 s of speech
        caller = SippCaller(asterisk, "300", CALLER, dtmf=NIGHT_KEYS, talk_seconds=25)
        result = await caller.run()
        assert result.answered
        ended = await until(lambda: next((e for e in srv.events if e.topic == "ivr_call_ended"), None), 5)
        assert ended.outcome == "voicemail"
        data = {}
        for e in srv.events:
            if isinstance(e, ev.CallDataSet):
                data.update(e.data)
        assert data["ivr_hours"] == "closed"
        assert data["menu_path"] == "accueil:1,ferme_choix:5"
        messages = await until(lambda: set(inbox.glob("msg*.txt")) - before, 10)
        [message] = messages
        text = message.read_text()
        assert f"callerid=<{CALLER}>" in text or CALLER in text, text
        duration = int(next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("duration=")))
        assert duration >= 2, text
