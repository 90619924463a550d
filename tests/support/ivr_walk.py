"""The shipped IVR walked on the real Asterisk, as the IVR-to-agent tests do it: the example
scripts copied as shipped, a server whose clock says the center is open, the demo's skills and
queues created (which activates the scripts), the customer whose number the caller types, and a
sipp caller dialling 0140000300 and pressing Français > numéro client > Assistance technique >
Internet (the call then queues in `support`)."""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ccserver.commands import demo
from ccserver.core.clock import ManualClock
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import SippCaller

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "ivr_scripts"
IVR_NUMBER = "0140000300"  # the example script's number (demo.IVR_NUMBERS)
OPEN_DAY = datetime(2026, 7, 15, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))  # a Wednesday, open
CALLER = "0655443322"  # nobody's phone: the caller is not recognised by their number
CUSTOMER_NUMBER = "87654321"  # what the caller types
CUSTOMER_PHONE = "0144556677"  # the customer's own phone, not the caller's
# the keys, in seconds after the IVR answers, fitted to the shipped prompts (Allison's sounds):
# each lands at least ~1.5 s inside the window where the node listens
KEYS = [
    (1.5, "1"),  # accueil ('hello', 0.8 s, then 4 s): Français
    # bienvenue ('auth-thankyou', 0.96 s, over at ~2.5 s), lookup of the caller's number
    # (not found), saisie_numero_client (3.1 s of prompt, keys barge in, then 8 s)
    (4.0, CUSTOMER_NUMBER + "#"),
    (7.5, "2"),  # menu_principal (~5 s of prompt, from ~5.5 s): Assistance technique
    (9.0, "1"),
]  # menu_technique (~5 s of prompt, from ~7.5 s): Internet
MENU_PATH = "accueil:1,menu_principal:2,menu_technique:1"  # what KEYS choose
RING_SECONDS = 4  # how long the agent's phone rings before answering


def ivr_server(asterisk, tmp_path: Path, *, clock: datetime = OPEN_DAY, scripts: str = "*.yaml") -> Server:
    """A server (not started: `async with` it) running the shipped scripts matching `scripts`."""
    directory = tmp_path / "ivr_scripts"
    directory.mkdir()
    for path in SCRIPTS.glob(scripts):  # the examples as shipped
        shutil.copy(path, directory / path.name)
    return Server(
        tmp_path,
        endpoint_of(asterisk.info),
        config_writer=asterisk,
        clock=ManualClock(clock),
        ivr={"scripts_dir": directory, "stats_flush_interval": 3600.0},
    )


async def add_demo_queues(rt, scripts: list[str]) -> None:
    """The demo's skills and queues; returns once the IVR runs `scripts` (it reloads when the
    ACD applies its queues) and its dialplan is applied."""
    for skill, label in demo.SKILLS.items():
        await asyncio.to_thread(rt.acd_repo.add_skill, skill, label)
    for queue in demo.QUEUES:
        await rt.acd.create_queue(queue, actor="admin")
    await until(lambda: rt.ivr.registry.names() == scripts, 10)
    await until(lambda: rt.ivr.dialplan_applied, 10)


async def add_customer(rt, **fields):
    """The customer whose number the caller types (CUSTOMER_NUMBER), reachable at CUSTOMER_PHONE."""
    return await asyncio.to_thread(
        rt.customers.create_customer, customer_number=CUSTOMER_NUMBER, phones=[CUSTOMER_PHONE], **fields
    )


def walking_caller(asterisk) -> SippCaller:
    """The caller who walks the menus with KEYS to the queue support (start() it; it stays on
    the line until the agent hangs up, at most 60 s)."""
    return SippCaller(asterisk, IVR_NUMBER, CALLER, dtmf=KEYS, talk_seconds=None, max_seconds=60)
