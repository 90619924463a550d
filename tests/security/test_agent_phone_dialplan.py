"""An agent's phone reaches only what it is allowed to (security issue, item 1).

On the real Asterisk, provisioned by a real ccserver: a registered phone (sipp, digest-
authenticated INVITE from the agent's SIP account) dials what an attacker holding an agent's or a
supervisor's SIP password would try: a Dial-string injection forking a Local channel into the spy
context, other endpoints' URIs, the trunk, each server-only context's extensions, external numbers.
Each call must be refused (403 Forbidden from [ccserver-agents-refused], with its log line) and,
as AMI tells (Newchannel events while it lasts, CoreShowChannels after), no channel other than
the phone's own may have been created: no Local/, no PJSIP/customers, no ChanSpy, no other phone.
The positive control: phones still reach each other by SIP user name, the queue and *43.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.core import events as ev
from tests.integration.conftest import asterisk  # noqa: F401 - the real private Asterisk
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller, SippPhone

QUEUE_NUMBER = "4100"
CUSTOMER = "0612345678"
PASSWORD = "password-1234"

# what a phone dials (the Request-URI user part, %-escaped where SIP needs it) -> why it matters
FORBIDDEN = {
    # Dial-string injection: `Dial(PJSIP/${EXTEN})` forks a second channel into any context
    "bruno&Local/listen-alice%40ccserver-spy": "listen to alice's calls, unaudited",
    "bruno&Local/whisper-alice%40ccserver-spy": "whisper into alice's calls",
    f"bruno&Local/{CUSTOMER}%40ccq-support-cbdial": "the trunk through the callback context",
    f"Local/{CUSTOMER}%40ccq-support-cbdial": "the trunk through a Local channel",
    "Local/s%40ccserver-dialer": "the dialer's context",
    "Local/echo%40ccserver-test": "the test context",
    # an agent's name with anything after it: options, another context, another URI
    "bruno/x": "a dial string after the name",
    "bruno%40ccserver-spy": "a name at a context",
    "bruno,1,U(x)": "Dial options smuggled in with commas",
    "bruno;user=phone": "a name with URI parameters",
    # the trunk by endpoint and URI: no compliance engine on that path
    f"customers/sip%3A{CUSTOMER}%40127.0.0.1%3A5999": "the trunk with a URI",
    "customers": "the trunk endpoint itself",
    # extensions of server-only contexts, dialled as such
    "listen-alice": "[ccserver-spy]",
    "whisper-alice": "[ccserver-spy]",
    "barge-alice": "[ccserver-spy]",
    "echo": "[ccserver-test]",
    "answer-hangup": "[ccserver-test]",
    "open": "[ccq-support]",
    "overflow": "[ccq-support]",
    "closed": "[ccq-support]",
    # external numbers: only the outbound compliance engine places those
    CUSTOMER: "a national number",
    "+33612345678": "an E.164 number",
    "33612345678": "an E.164 number without +",
    "0033612345678": "an international prefix",
}
# a supervisor's phone lands in the same context: the same doors are shut
FORBIDDEN_FROM_SUPERVISOR = ("bruno&Local/listen-alice%40ccserver-spy", "listen-alice", CUSTOMER)


async def provision(srv: Server) -> dict:
    """A queue with a callback key (so ccq-support-cbdial exists), agents alice and bruno, and a
    supervisor sophie with a phone: every SIP account ccserver provisions."""
    rt = srv.runtime
    await until(srv.ok, 15, "ccserver up")
    await asyncio.to_thread(rt.acd_repo.add_skill, "fr")
    await rt.acd.create_queue(
        QueueDefinition(
            name="support",
            required_skills={"fr": 1},
            numbers=(QUEUE_NUMBER,),
            holidays="",
            callback_key="1",
            ring_seconds=10,
        ),
        actor="admin",
    )
    accounts = {}
    for username in ("alice", "bruno"):
        accounts[username] = await rt.acd.create_agent(username, PASSWORD, username.title(), "fr:5", actor="admin")
    await asyncio.to_thread(rt.users.create_user, "sophie", PASSWORD, role="supervisor", display_name="Sophie")
    accounts["sophie"] = await asyncio.to_thread(rt.acd_repo.add_sip_account, "sophie")
    await rt.acd.apply_configuration()
    return accounts


class ChannelWatch:
    """The channels Asterisk creates during one call, from the AMI events ccserver receives."""

    def __init__(self, srv: Server) -> None:
        self.srv = srv
        self.mark = len(srv.events)

    def created(self) -> list[ev.ChannelCreated]:
        return [e for e in self.srv.events[self.mark :] if isinstance(e, ev.ChannelCreated)]

    def all_ended(self) -> bool:
        gone = {e.uniqueid for e in self.srv.events[self.mark :] if isinstance(e, ev.ChannelHungup)}
        return all(c.uniqueid in gone for c in self.created())


async def dial_from(srv: Server, asterisk, account, number: str, **options):
    """`account`'s phone dials `number`; (SIP final status, channels created, channels of the
    call still up afterwards)."""
    watch = ChannelWatch(srv)
    caller = SippCaller(
        asterisk,
        number,
        caller=account.sip_username,
        password=account.sip_password,
        **{"talk_seconds": 2, "max_seconds": 20, **options},
    )
    result = await caller.run()
    own = f"PJSIP/{account.sip_username}-"
    if result.status != 404:  # 404: PJSIP refused the INVITE before making any channel
        # the dialplan ran on the phone's channel: once AMI reported its end (and that of any
        # channel it made), every Newchannel of this call has been seen
        await until(
            lambda: any(c.channel.startswith(own) for c in watch.created()) and watch.all_ended(),
            15,
            f"the channels of {number!r} created and ended",
        )
    linked = {c.linkedid for c in watch.created()} | {c.uniqueid for c in watch.created()}
    rows = await srv.runtime.pbx.ami.list_action({"Action": "CoreShowChannels"})
    still_up = sorted(
        r.get("channel", "")
        for r in rows
        if r.get("event") == "CoreShowChannel" and (r.get("linkedid") in linked or r.get("uniqueid") in linked)
    )
    return result, watch.created(), still_up


@pytest.mark.asterisk
async def test_a_phone_reaches_colleagues_queues_and_echo_and_nothing_else(asterisk, tmp_path):
    log_start = asterisk.info.messages_log.stat().st_size
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        accounts = await provision(srv)
        phones = {
            who: SippPhone(asterisk, a.sip_username, a.sip_password, behaviour=Answer(talk_seconds=2))
            for who, a in accounts.items()
        }
        for phone in phones.values():
            await phone.start()
        try:
            for phone in phones.values():
                await phone.wait_registered()
            # the positive control: alice dials bruno by his SIP user name, his phone rings
            result, created, _ = await dial_from(srv, asterisk, accounts["alice"], "bruno")
            assert result.answered and phones["bruno"].calls_answered == 1
            assert sorted(c.channel.rsplit("-", 1)[0] for c in created) == ["PJSIP/alice", "PJSIP/bruno"]
            # the supervisor's phone reaches an agent's
            result, _, _ = await dial_from(srv, asterisk, accounts["sophie"], "alice")
            assert result.answered and phones["alice"].calls_answered == 1
            # the queue's number (nobody logged in: the queue answers) and *43 (echo)
            result, _, _ = await dial_from(srv, asterisk, accounts["alice"], QUEUE_NUMBER)
            assert result.answered
            result, created, _ = await dial_from(srv, asterisk, accounts["alice"], "*43")
            assert result.answered and [c.channel.rsplit("-", 1)[0] for c in created] == ["PJSIP/alice"]
            offered = sum(phone.calls_offered for phone in phones.values())

            outcomes, expected = {}, {}
            calls = [("alice", number) for number in FORBIDDEN]
            calls += [("sophie", number) for number in FORBIDDEN_FROM_SUPERVISOR]
            for who, number in calls:
                account = accounts[who]
                result, created, still_up = await dial_from(srv, asterisk, account, number)
                others = sorted(
                    c.channel for c in created if not c.channel.startswith(f"PJSIP/{account.sip_username}-")
                )
                outcomes[(who, number)] = (result.status, others, still_up)
                expected[(who, number)] = (403, [], [])
            assert outcomes == expected, "\n".join(
                f"{who} dialling {number!r} ({FORBIDDEN.get(number, '')}): status {status}, "
                f"other channels {others}, still up {up}"
                for (who, number), (status, others, up) in outcomes.items()
                if (status, others, up) != (403, [], [])
            )
            # no phone rang, and each refusal is logged, naming the phone and what it dialled
            assert sum(phone.calls_offered for phone in phones.values()) == offered

            def refusals() -> list[tuple[str, str]]:
                with open(asterisk.info.messages_log, errors="replace") as log_file:
                    log_file.seek(log_start)
                    return re.findall(r"ccserver: phone (\S+) dialled (\S+): refused", log_file.read())

            # Asterisk's logger thread writes on its own time: wait for the last line
            refusals = await until(
                lambda: len(refusals()) >= len(calls) and refusals(), 5, "a refusal line per refused call"
            )
            assert ("alice", "bruno%26Local%2Flisten-alice%40ccserver-spy") in refusals
            assert ("sophie", CUSTOMER) in refusals
            assert len(refusals) == len(calls)  # one per refusal: none for the calls allowed

            # an agent added now is reachable at once (the extensions are regenerated with the
            # SIP accounts), and only by the name of that account
            carla = await srv.runtime.acd.create_agent("carla", PASSWORD, "Carla", "fr:5", actor="admin")
            async with SippPhone(
                asterisk, carla.sip_username, carla.sip_password, behaviour=Answer(talk_seconds=2)
            ) as carla_phone:
                result, _, _ = await dial_from(srv, asterisk, accounts["alice"], "carla")
                assert result.answered and carla_phone.calls_answered == 1
                result, created, _ = await dial_from(
                    srv, asterisk, accounts["alice"], "carla&Local/barge-bruno%40ccserver-spy"
                )
                assert result.status == 403 and carla_phone.calls_offered == 1
                assert [c.channel.rsplit("-", 1)[0] for c in created] == ["PJSIP/alice"]
        finally:
            for phone in phones.values():
                await phone.stop()


# --- the dialplan a phone can reach, read statically --------------------------------------------
def _contexts(text: str) -> dict[str, list[str]]:
    contexts: dict[str, list[str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and "]" in line:
            current = contexts.setdefault(line[1 : line.index("]")], [])
        elif current is not None:
            current.append(line)
    return contexts


def _whole_dialplan() -> dict[str, list[str]]:
    """Every context a ccserver instance loads: the static files and the generated ones."""
    from ccserver.adapters.asterisk.instance import DEFAULT_CONF_DIR, DEFAULT_DIALPLAN_DIR
    from ccserver.capabilities.acd.model import AgentAccount, render_acd_dialplan
    from ccserver.capabilities.ivr.service import render_ivr_dialplan
    from ccserver.capabilities.outbound.dialplan import render_dialer_dialplan

    queue = QueueDefinition(
        name="support", numbers=(QUEUE_NUMBER,), holidays="", callback_key="1", overflow_kind="callback"
    )
    phones = [AgentAccount("alice", "Alice", "alice", PASSWORD), AgentAccount("sophie", "Sophie", "sophie", PASSWORD)]
    texts = [
        (DEFAULT_CONF_DIR / "extensions.conf").read_text(),
        *(p.read_text() for p in sorted(DEFAULT_DIALPLAN_DIR.glob("*.conf"))),
        render_acd_dialplan([queue], [2026], phones=phones),
        render_ivr_dialplan([], "ccserver"),
        render_dialer_dialplan(),
    ]
    contexts: dict[str, list[str]] = {}
    for text in texts:
        for name, lines in _contexts(text).items():
            contexts.setdefault(name, []).extend(lines)
    return contexts


def test_the_phones_context_includes_no_server_context_and_never_dials_what_was_dialled():
    contexts = _whole_dialplan()
    reachable, todo = set(), ["ccserver-agents"]
    while todo:  # contexts whose extensions a phone can dial: [ccserver-agents] and its includes
        name = todo.pop()
        if name not in reachable:
            reachable.add(name)
            todo += [line.split("=>", 1)[1].strip() for line in contexts.get(name, []) if line.startswith("include")]
    assert reachable == {
        "ccserver-agents",
        "ccserver-ivr-routes",
        "ccserver-routes",
        "ccserver-agent-to-agent",
        "ccserver-agents-refused",
    }
    lines = [(name, line) for name in sorted(reachable) for line in contexts[name]]
    # the dialled text (${EXTEN}) is only ever logged, URI-encoded
    assert [
        (n, text)
        for n, text in lines
        if "${EXTEN" in text and not ("URIENCODE(${EXTEN})" in text and ("NoOp(" in text or "Log(" in text))
    ] == []
    # one pattern only: the refusal catch-all; every other extension is literal
    patterns = [(n, text) for n, text in lines if text.startswith("exten") and "=> _" in text]
    assert patterns == [
        (
            "ccserver-agents-refused",
            next(text for text in contexts["ccserver-agents-refused"] if text.startswith("exten")),
        )
    ]
    assert "same => n,Hangup(21)" in contexts["ccserver-agents-refused"]  # 403 Forbidden
    # phones dial each other by literal name, nothing else; Goto only to fixed places
    assert [text for text in contexts["ccserver-agent-to-agent"] if text.startswith("exten")] == [
        "exten => alice,1,Dial(PJSIP/alice,30)",
        "exten => sophie,1,Dial(PJSIP/sophie,30)",
    ]
    gotos = sorted({text[text.index("Goto(") :] for _n, text in lines if "Goto(" in text})
    assert gotos == ["Goto(ccq-support,s,1)", "Goto(ccserver-test,echo,1)"]


def test_a_sip_account_that_cannot_be_an_extension_is_refused_by_name():
    from ccserver.capabilities.acd.model import AgentAccount, render_acd_dialplan
    from ccserver.core.errors import InvalidInput

    for bad in ("_X.", "bob&Local/x@ctx", "bob,1,U(x)", "bob\nexten => _.,1,Dial(${EXTEN})"):
        with pytest.raises(InvalidInput) as err:
            render_acd_dialplan([], [2026], phones=[AgentAccount("bob", "Bob", bad, PASSWORD)])
        assert err.value.details["field"] == "sip_username"


@pytest.mark.asterisk
async def test_a_phone_cannot_ask_the_queue_for_a_callback_to_any_number(asterisk, tmp_path):
    """A callback dials the trunk with the number the caller keeps or types: from an agent's
    phone that would be an external call outside the compliance engine. Only the customers'
    trunk may ask; a phone pressing the callback key is refused, logged, and nothing is stored."""
    log_start = asterisk.info.messages_log.stat().st_size
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        accounts = await provision(srv)
        # nobody is logged in: the queue answers and waits; the phone presses 1 (callback key),
        # then types a number to be called back at
        typed = [(5.0 + 0.4 * i, digit) for i, digit in enumerate(CUSTOMER + "#")]
        result, created, still_up = await dial_from(
            srv, asterisk, accounts["alice"], QUEUE_NUMBER, dtmf=[(3.0, "1"), *typed], talk_seconds=12
        )
        assert result.answered
        assert [c.channel.rsplit("-", 1)[0] for c in created] == ["PJSIP/alice"] and still_up == []

        def refusals() -> list[str]:
            with open(asterisk.info.messages_log, errors="replace") as log_file:
                log_file.seek(log_start)
                return re.findall(r"ccserver: callback from (PJSIP/alice-\S+) in support refused", log_file.read())

        def requested() -> bool:
            return any(isinstance(e, ev.CallbackRequested) for e in srv.events)

        await until(lambda: refusals() or requested(), 5, "the request refused or taken")
        assert not requested()
        assert refusals()
        assert await asyncio.to_thread(srv.runtime.acd_repo.callbacks) == []
