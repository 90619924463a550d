"""The demo call center: two queues, four agents with SIP accounts, a supervisor, an admin, the
example IVR (ivr_scripts/service-client.yaml, on 300 / 0140000300) and one customer to type in it.

Seeding is idempotent: a second run keeps what exists (and the passwords it generated, kept in
`<data_dir>/demo-logins.json`, readable by the owner only) and prints the same logins.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from ..adapters.db.acd import AcdRepository
from ..adapters.db.callcenter import CallCenterRepository
from ..adapters.db.customers import CustomerRepository
from ..adapters.db.database import Database
from ..adapters.db.repositories import AuditLog, UserRepository
from ..capabilities.acd.model import QueueDefinition
from ..capabilities.acd.service import AcdService
from ..capabilities.agents.model import AgentBoard
from ..capabilities.callcenter.model import PauseCode, WrapupCode
from ..capabilities.callcenter.service import CallCenterService
from ..capabilities.calls.model import CallTracker
from ..capabilities.customers.service import CustomerService
from ..core.clock import SystemClock
from ..settings import Settings

DEMO_ACTOR = "demo"

SKILLS = {"fr": "Français", "en": "English", "billing": "Facturation", "tech": "Support technique"}
# code: (label, paid, maximum minutes after which the supervisor is alerted; 0: none)
PAUSE_REASONS = {
    "break": ("Pause", True, 15),
    "lunch": ("Déjeuner", False, 60),
    "training": ("Formation", True, 0),
    "backoffice": ("Back-office", True, 0),
}
QUEUES = (
    QueueDefinition(
        name="support",
        display_name="Support technique",
        strategy="leastrecent",
        required_skills={"fr": 1, "tech": 1},
        wrapup_seconds=15,
        numbers=("100", "0140000100"),
        callback_key="1",
        holidays="",
        dispositions=("resolved", "escalated", "callback"),
    ),
    QueueDefinition(
        name="billing",
        display_name="Facturation",
        strategy="rrmemory",
        required_skills={"fr": 1, "billing": 1},
        wrapup_seconds=10,
        numbers=("200", "0140000200"),
        max_wait_seconds=300,
        overflow_kind="queue",
        overflow_target="support",
        holidays="",
        dispositions=("paid", "dispute", "info"),
    ),
)
AGENTS = (
    ("alice", "Alice Martin", {"fr": 9, "tech": 8, "billing": 3}),
    ("bruno", "Bruno Petit", {"fr": 7, "tech": 4}),
    ("chloe", "Chloé Durand", {"fr": 8, "billing": 9, "en": 6}),
    ("david", "David Moreau", {"fr": 5, "billing": 5, "tech": 5, "en": 8}),
)
# the example IVR script (ivr_scripts/service-client.yaml) routes these numbers itself
IVR_NUMBERS = ("300", "0140000300")
# a customer to type in the IVR (the screen-pop shows them, whoever calls)
CUSTOMER = {"customer_number": "12345678", "first_name": "Camille", "last_name": "Lefèvre", "phones": ["0144556677"]}


RECORDING_KEY_FILE = "recording.key"


def demo_settings(settings: Settings) -> Settings:
    """The demo's settings: its own Asterisk instance, and recordings encrypted at rest (a voice
    is personal data) with a key generated once into `<data_dir>/recording.key` (owner only)
    unless one is configured (CCSERVER_RECORDING_ENCRYPTION_KEY)."""
    if settings.asterisk.instance == "default":
        settings = settings.replace({"asterisk.instance": "demo"})
    if not settings.asterisk.language:  # a French call center: its callers hear French
        settings = settings.replace({"asterisk.language": "fr"})
    if not settings.recording.encryption_key:
        settings = settings.replace({"recording.encryption_key": _demo_recording_key(Path(settings.storage.data_dir))})
    return settings


def _demo_recording_key(data_dir: Path) -> str:
    path = data_dir / RECORDING_KEY_FILE
    if path.exists():
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    tmp = path.with_suffix(".tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(key + "\n")
    os.replace(tmp, path)
    return key


@dataclass
class DemoSummary:
    logins: dict[str, dict]

    def describe(self, settings: Settings, info) -> str:
        url = f"http://{settings.web.host}:{settings.web.port}/"
        lines = ["", "=" * 72, "ccserver demo call center", "=" * 72, f"Web UI:        {url}", "", "Logins (web):"]
        for username, data in self.logins.items():
            lines.append(f"  {data['role']:<11} {username:<12} password: {data['password']}")
        lines += ["", f"SIP (softphones: Zoiper, Linphone, MicroSIP) — server {info.sip_host}:{info.sip_port} UDP"]
        for username, data in self.logins.items():
            if "sip_password" in data:
                lines.append(
                    f"  {username:<12} SIP user: {data['sip_username']:<10} SIP password: {data['sip_password']}"
                )
        lines += [
            "",
            "Queues: support (dial 100 or 0140000100), billing (dial 200 or 0140000200;",
            "        overflows to support after 5 min). Press 1 while waiting in support",
            "        to be called back.",
            f"IVR:    dial {IVR_NUMBERS[0]} or {IVR_NUMBERS[1]} (ivr_scripts/service-client.yaml, open Mon-Fri",
            "        8:30-12:30 and 13:30-18:00, Sat 9:00-12:00, Paris): 1 French / 2 English;",
            f"        type the customer number {CUSTOMER['customer_number']} then # "
            f"({CUSTOMER['first_name']} {CUSTOMER['last_name']}: their card",
            "        pops up on the agent's page); then 1 billing, 2 technical support",
            "        (then 1 internet, 2 mobile, 3 TV), 3 offers, 4 be called back, 0 an agent.",
            f"Asterisk '{info.name}': AMI 127.0.0.1:{info.ami_port}, ARI {info.ari_url}",
            "=" * 72,
            "",
        ]
        return "\n".join(lines)


class _AppliedWhenTheServerStarts:
    """The configuration writer of the demo's seeding: nothing to write yet (the server renders
    and applies everything when it starts, right after), and no warning saying it was not."""

    def write_generated(self, filename: str, text: str) -> None:
        return None


async def _seed_settings(db: Database) -> None:
    """Skills, pause codes, queues and their wrap-up codes through the same service as the
    admin page and the CLI (validated, audited as 'demo'); what exists is kept. Asterisk is
    not touched here: the server applies the configuration when it starts."""
    clock, audit = SystemClock(), AuditLog(db)
    acd = AcdService(
        AcdRepository(db, clock),
        AgentBoard(clock),
        CallTracker(clock),
        None,
        _AppliedWhenTheServerStarts(),
        audit,
        clock,
    )
    settings = CallCenterService(CallCenterRepository(db), acd, audit, clock)
    skills = {s.name for s in await settings.skills()}
    for name, label in SKILLS.items():
        if name not in skills:
            await settings.create_skill(name, label, DEMO_ACTOR)
    codes = {c.code for c in await settings.pause_codes(include_retired=True)}
    for code, (label, paid, max_minutes) in PAUSE_REASONS.items():
        if code not in codes:
            await settings.create_pause_code(PauseCode(code, label, paid, max_minutes), DEMO_ACTOR)
    existing = {q.name for q in await acd.queues()}
    for queue in QUEUES:
        if queue.name in existing:
            continue
        await acd.create_queue(replace(queue, dispositions=()), DEMO_ACTOR)
        for code in queue.dispositions:
            await settings.add_wrapup_code(WrapupCode(code), DEMO_ACTOR, queue=queue.name)


def seed_demo(settings: Settings, instance=None) -> DemoSummary:
    db = Database(settings.storage.effective_database_url)
    db.upgrade()
    users, acd = UserRepository(db), AcdRepository(db)
    secrets_file = Path(settings.storage.data_dir) / "demo-logins.json"
    stored: dict[str, dict] = json.loads(secrets_file.read_text()) if secrets_file.exists() else {}

    def password_for(username: str) -> str:
        return stored.get(username, {}).get("password") or secrets.token_urlsafe(9)

    asyncio.run(_seed_settings(db))
    logins: dict[str, dict] = {}
    for username, display, role in (
        ("admin", "Administrateur", "admin"),
        ("superviseur", "Sophie Superviseure", "supervisor"),
    ):
        password = password_for(username)
        if users.get_by_username(username) is None:
            users.create_user(username, password, role=role, display_name=display)
        logins[username] = {"role": role, "password": password}
    for queue in QUEUES:  # the supervisor is given both queues (admins see everything anyway)
        acd.give_scope("superviseur", "queue", queue.name)
    # the supervisor's phone, to listen / whisper / barge (printed with the agents' phones)
    sip_password = stored.get("superviseur", {}).get("sip_password") or None
    if acd.sip_account_of("superviseur") is None:
        sip_password = acd.add_sip_account("superviseur", sip_password=sip_password).sip_password
    elif sip_password is None:  # the file was lost: a new SIP password, printed below
        sip_password = acd.reset_sip_password("superviseur").sip_password
    logins["superviseur"].update(sip_username=acd.agent("superviseur").sip_username, sip_password=sip_password)
    for username, display, skills in AGENTS:
        password = password_for(username)
        # the database keeps only digests of SIP passwords: the demo prints the clear ones it
        # generated, from its own owner-only file
        sip_password = stored.get(username, {}).get("sip_password") or None
        if users.get_by_username(username) is None:
            sip_password = acd.create_agent(username, password, display, skills, sip_password=sip_password).sip_password
        elif sip_password is None:  # the file was lost: a new SIP password, printed below
            sip_password = acd.reset_sip_password(username).sip_password
        account = acd.agent(username)
        logins[username] = {
            "role": "agent",
            "password": password,
            "sip_username": account.sip_username,
            "sip_password": sip_password,
        }
    customers = CustomerService(CustomerRepository(db))
    if customers.find_by_customer_number(CUSTOMER["customer_number"]) is None:
        customers.create_customer(**CUSTOMER)
    Path(settings.storage.data_dir).mkdir(parents=True, exist_ok=True)
    tmp = secrets_file.with_suffix(".tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        json.dump(logins, out, indent=2)
    os.replace(tmp, secrets_file)
    db.dispose()
    return DemoSummary(logins=logins)
