"""Queues, agents' SIP accounts and skills, as Asterisk configuration. Pure: no I/O.

The database holds the truth; these functions validate definitions and render them into the
files Asterisk reads (`pjsip_agents.conf`, `queues_generated.conf`, `extensions_acd.conf`).
Skill routing: a queue lists required skills with a minimum level; an agent who has them all
becomes a member with penalty = sum of (10 - level) over those skills, so the best-skilled
available agent rings first (Asterisk rings lower penalties first).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ...core.errors import InvalidInput
from ...core.text import Text
from ..media.model import MediaConfig, closed_day_lines
from ..supervision.model import SPY_MODES, chanspy_options

STRATEGIES = ("ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered", "linear", "wrandom")
OVERFLOW_KINDS = ("none", "queue", "voicemail", "callback", "hangup")
MAX_SKILL_LEVEL = 10
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
SIP_USER_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")
DIGITS_RE = re.compile(r"^\+?[0-9]{2,20}$")
# SIP digest credentials: Asterisk is given hash(username:realm:password), never the password.
# The realm is part of what is hashed, so it is fixed (changing it voids every stored digest).
# SHA-256 is offered first (RFC 8760: most preferred first), MD5 for phones that know no better.
SIP_REALM = "ccserver"
SIP_DIGEST_ALGORITHMS = {"SHA-256": hashlib.sha256, "MD5": hashlib.md5}
# the phone an agent takes calls on, chosen at each login: their SIP account's softphone, or the
# browser phone of the desk (capabilities/webrtc), the endpoint <sip user>~webrtc ("~" is in no
# SIP user name, so it names no other account); the queue member interface follows the choice
PHONE_CHOICES = ("softphone", "browser")
WEBRTC_SUFFIX = "~webrtc"


def check_phone_choice(value: object) -> str:
    """ "softphone" (the default when absent) or "browser"; InvalidInput naming ``phone``."""
    if value is None or value == "":
        return "softphone"
    if value not in PHONE_CHOICES:
        raise InvalidInput(Text("phone must be one of %(value)s", value=", ".join(PHONE_CHOICES)), field="phone")
    return str(value)


def phone_interface(sip_username: str, phone: str) -> str:
    """The queue member interface of an agent taking calls on `phone`."""
    if not SIP_USER_RE.match(sip_username or ""):
        raise InvalidInput(
            Text("%(sip_username)r is not a SIP user name", sip_username=sip_username), field="sip_username"
        )
    suffix = WEBRTC_SUFFIX if check_phone_choice(phone) == "browser" else ""
    return f"PJSIP/{sip_username}{suffix}"


@dataclass(frozen=True)
class QueueDefinition:
    name: str
    display_name: str = ""
    strategy: str = "rrmemory"
    required_skills: Mapping[str, int] = field(default_factory=dict)
    service_level_seconds: int = 20
    service_level_target_pct: int = 80
    wrapup_seconds: int = 0
    ring_seconds: int = 15
    max_wait_seconds: int = 0  # 0: no limit
    max_callers: int = 0  # callers waiting at most (Asterisk's maxlen); 0: no limit
    overflow_kind: str = "none"
    overflow_target: str = ""
    announce_position: bool = True
    announce_holdtime: bool = True
    announce_frequency_seconds: int = 30
    numbers: tuple[str, ...] = ()  # numbers called (DIDs) that lead to this queue
    callback_key: str = ""  # a DTMF key a waiting caller presses to be called back
    # opening hours: {"mon-fri": "08:00-19:00", "sat": "09:00-12:00"}; empty: always open
    hours: Mapping[str, str] = field(default_factory=dict)
    timezone: str = "Europe/Paris"
    holidays: str = "FR"  # "FR", "FR-57" (Alsace-Moselle), ...; "" for none
    closed_message: str = ""  # a sound played when closed (default: a generic one)
    dispositions: tuple[str, ...] = ()  # wrap-up codes agents pick for this queue
    # recording (capabilities/recording): 'always' (from the answer), 'on_demand' (the agent
    # starts it) or 'never'; recordings older than retention_days are purged (0: kept for ever)
    recording_policy: str = "always"
    retention_days: int = 180


def sip_password_digests(sip_username: str, password: str, realm: str = SIP_REALM) -> dict[str, str]:
    """{"SHA-256": hex, "MD5": hex} of `username:realm:password`: what Asterisk's
    `password_digest = ALGORITHM:hex` lines and the database hold instead of the password."""
    credential = f"{sip_username}:{realm}:{password}".encode()
    return {name: algorithm(credential).hexdigest() for name, algorithm in SIP_DIGEST_ALGORITHMS.items()}


@dataclass(frozen=True)
class AgentAccount:
    username: str
    display_name: str
    sip_username: str
    # the clear SIP password: set only on the account returned when it is created or reset (it
    # is shown to the user once, then forgotten); "" on accounts read back from the database
    sip_password: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)
    # what is stored: {"SHA-256": hex, "MD5": hex} (see sip_password_digests)
    sip_digests: Mapping[str, str] = field(default_factory=dict)

    @property
    def interface(self) -> str:
        return f"PJSIP/{self.sip_username}"

    def interface_for(self, phone: str) -> str:
        """The member interface when taking calls on `phone` ("softphone" or "browser")."""
        return phone_interface(self.sip_username, phone)

    def digests(self) -> dict[str, str]:
        """The stored digests, or those of the clear password of a new account; {} for none."""
        if self.sip_digests:
            return dict(self.sip_digests)
        if self.sip_password:
            return sip_password_digests(self.sip_username, self.sip_password)
        return {}


def validate_queue(
    queue: QueueDefinition, known_skills: Iterable[str], known_queues: Iterable[str] = ()
) -> QueueDefinition:
    """Raise InvalidInput naming every bad field; return the queue unchanged when valid."""
    errors: list[dict[str, str]] = []

    def bad(field_name: str, message: str) -> None:
        errors.append({"field": field_name, "message": message})

    if not NAME_RE.match(queue.name or ""):
        bad("name", "lower-case letters, digits, '-' or '_' (max 32), starting with a letter")
    if queue.strategy not in STRATEGIES:
        bad("strategy", f"one of {', '.join(STRATEGIES)}")
    skills = set(known_skills)
    for skill, level in queue.required_skills.items():
        if skill not in skills:
            bad("required_skills", f"unknown skill {skill!r}")
        elif not isinstance(level, int) or not 1 <= level <= MAX_SKILL_LEVEL:
            bad("required_skills", f"level of {skill!r} must be 1..{MAX_SKILL_LEVEL}")
    for name, low, high in (
        ("service_level_seconds", 1, 3600),
        ("service_level_target_pct", 1, 100),
        ("wrapup_seconds", 0, 3600),
        ("ring_seconds", 5, 300),
        ("max_wait_seconds", 0, 86400),
        ("max_callers", 0, 10000),
        ("announce_frequency_seconds", 0, 3600),
    ):
        value = getattr(queue, name)
        if not isinstance(value, int) or not low <= value <= high:
            bad(name, f"must be a whole number from {low} to {high}")
    if queue.overflow_kind not in OVERFLOW_KINDS:
        bad("overflow_kind", f"one of {', '.join(OVERFLOW_KINDS)}")
    elif queue.overflow_kind == "queue":
        if queue.overflow_target == queue.name:
            bad("overflow_target", "a queue cannot overflow into itself")
        elif queue.overflow_target not in set(known_queues):
            bad("overflow_target", f"unknown queue {queue.overflow_target!r}")
    elif queue.overflow_kind == "voicemail" and not re.match(r"^[0-9a-z_-]{1,32}$", queue.overflow_target):
        bad("overflow_target", "a voicemail box name")
    for number in queue.numbers:
        if not DIGITS_RE.match(number):
            bad("numbers", f"{number!r} is not a phone number")
    if queue.callback_key and (len(queue.callback_key) != 1 or queue.callback_key not in "0123456789*#"):
        bad("callback_key", "a single DTMF key 0-9, * or #")
    try:
        parse_hours(queue.hours)
    except InvalidInput as exc:
        bad("hours", exc.message)
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(queue.timezone)
    except Exception:
        bad("timezone", f"unknown time zone {queue.timezone!r}")
    try:
        holiday_dates(queue.holidays, [2026])
    except InvalidInput as exc:
        bad("holidays", exc.message)
    if queue.closed_message and not re.match(r"^[a-zA-Z0-9_/-]{1,128}$", queue.closed_message):
        bad("closed_message", "a sound file name (letters, digits, '_', '-', '/')")
    for code in queue.dispositions:
        if not NAME_RE.match(code):
            bad("dispositions", f"{code!r}: lower-case letters, digits, '-' or '_'")
    if queue.recording_policy not in ("always", "on_demand", "never"):
        bad("recording_policy", "one of always, on_demand, never")
    if not isinstance(queue.retention_days, int) or not 0 <= queue.retention_days <= 36500:
        bad("retention_days", "a whole number of days from 0 (keep for ever) to 36500")
    if errors:
        raise InvalidInput(
            f"queue {queue.name!r}: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            queue=queue.name,
            field=errors[0]["field"],
            errors=errors,
        )
    return queue


def validate_agent(agent: AgentAccount, known_skills: Iterable[str]) -> AgentAccount:
    errors = []
    if not SIP_USER_RE.match(agent.sip_username or ""):
        errors.append(("sip_username", "lower-case letters, digits, '.', '-' or '_' (2-32)"))
    if agent.sip_password and (len(agent.sip_password) < 12 or re.search(r"[\s;\"\\]", agent.sip_password)):
        errors.append(("sip_password", "at least 12 characters, no spaces, quotes, ';' or '\\'"))
    if re.search(r"[\x00-\x1f\"<>;]", agent.display_name):
        errors.append(("display_name", "no control characters, quotes, '<', '>' or ';'"))
    skills = set(known_skills)
    for skill, level in agent.skills.items():
        if skill not in skills:
            errors.append(("skills", f"unknown skill {skill!r}"))
        elif not isinstance(level, int) or not 1 <= level <= MAX_SKILL_LEVEL:
            errors.append(("skills", f"level of {skill!r} must be 1..{MAX_SKILL_LEVEL}"))
    if errors:
        raise InvalidInput(
            f"agent {agent.username!r}: " + "; ".join(f"{f}: {m}" for f, m in errors),
            agent=agent.username,
            field=errors[0][0],
        )
    return agent


def parse_skills(text: str) -> dict[str, int]:
    """'fr:5, billing:3' -> {'fr': 5, 'billing': 3}; InvalidInput naming the bad part."""
    skills: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, level = part.partition(":")
        name = name.strip()
        if not sep or not NAME_RE.match(name) or not level.strip().isdigit():
            raise InvalidInput(Text("bad skill %(part)r: write name:level, e.g. fr:5", part=part), field="skills")
        skills[name] = int(level)
    return skills


def member_penalty(agent_skills: Mapping[str, int], required: Mapping[str, int]) -> int | None:
    """None when the agent lacks a required skill (or its level); else the penalty."""
    penalty = 0
    for skill, minimum in required.items():
        level = agent_skills.get(skill, 0)
        if level < minimum:
            return None
        penalty += MAX_SKILL_LEVEL - level
    return penalty


# --- rendering ------------------------------------------------------------------------------


def _callerid_name(text: str) -> str:
    """A display name as it may stand in a pjsip.conf callerid: no line break (it would start a
    new section or option), no quote, angle bracket, ';' (a comment) or backslash."""
    return re.sub(r'[\x00-\x1f\x7f"<>;\\]', "", text)[:80]


def pjsip_account_lines(
    template: str, user: str, callerid_user: str, display_name: str, digests: Mapping[str, str]
) -> list[str]:
    """One SIP account's sections in a pjsip.conf: the endpoint (from `template`, in the agents'
    context, presenting "display name" <callerid_user>), its auth (the digests only, in
    SIP_DIGEST_ALGORITHMS order) and its AOR (one contact, a new registration replaces it); each
    section named `user` and followed by an empty line."""
    return [
        f"[{user}]({template})",
        "context = ccserver-agents",
        f"auth = {user}",
        f"aors = {user}",
        f'callerid = "{_callerid_name(display_name)}" <{callerid_user}>',
        "",
        f"[{user}]",
        "type = auth",
        "auth_type = digest",
        f"realm = {SIP_REALM}",
        f"username = {user}",
        *(f"password_digest = {name}:{digests[name]}" for name in SIP_DIGEST_ALGORITHMS if name in digests),
        "supported_algorithms_uas = " + ",".join(n for n in SIP_DIGEST_ALGORITHMS if n in digests),
        "",
        f"[{user}]",
        "type = aor",
        "max_contacts = 1",
        "remove_existing = yes",
        "",
    ]


def render_pjsip_agents(agents: Iterable[AgentAccount]) -> str:
    """Endpoints, auths and AORs of the SIP accounts. The auths carry only pre-computed digests
    (`password_digest`), never a password; an account without any digest is left out (an
    endpoint without credentials would let anybody register as it)."""
    lines = ["; generated by ccserver from the agents table: do not edit", ""]
    for agent in sorted(agents, key=lambda a: a.sip_username):
        user = agent.sip_username
        digests = agent.digests()
        if not digests:
            lines += [f"; {user}: no SIP credentials stored, not provisioned", ""]
            continue
        lines += pjsip_account_lines("ccserver-endpoint", user, user, agent.display_name, digests)
    return "\n".join(lines)


def render_queues(queues: Iterable[QueueDefinition], media: MediaConfig | None = None) -> str:
    """queues_generated.conf; `media` gives each queue's music on hold class."""
    media = media or MediaConfig()
    lines = ["; generated by ccserver from the queues table: do not edit", ""]
    for q in sorted(queues, key=lambda q: q.name):
        lines += [
            f"[{q.name}]",
            f"strategy = {q.strategy}",
            f"timeout = {q.ring_seconds}",
            "retry = 2",
            f"wrapuptime = {q.wrapup_seconds}",
            f"servicelevel = {q.service_level_seconds}",
            f"maxlen = {q.max_callers}",
            "joinempty = yes",
            "leavewhenempty = no",
            "ringinuse = no",
            "setinterfacevar = yes",
            "setqueuevar = yes",
            "setqueueentryvar = yes",
            f"announce-frequency = {q.announce_frequency_seconds if (q.announce_position or q.announce_holdtime) else 0}",
            f"announce-position = {'yes' if q.announce_position else 'no'}",
            f"announce-holdtime = {'yes' if q.announce_holdtime else 'no'}",
            f"musicclass = {media.of(q.name).music_class or 'default'}",
        ]
        if q.callback_key:
            lines.append(f"context = ccq-{q.name}-exit")
        lines.append("")
    return "\n".join(lines)


# --- opening hours, holidays and the queues' dialplan ----------------------------------------

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def parse_hours(hours: Mapping[str, str]) -> list[tuple[str, str]]:
    """{"mon-fri": "08:00-12:00, 13:30-18:00"} -> [("08:00-12:00", "mon-fri"), ...]."""
    slots: list[tuple[str, str]] = []
    for days, ranges in hours.items():
        parts = days.strip().lower().split("-")
        if not 1 <= len(parts) <= 2 or any(p not in DAYS for p in parts):
            raise InvalidInput(
                Text("hours: %(days)r is not a day or a day range like mon-fri", days=days), field="hours"
            )
        for text in str(ranges).split(","):
            text = text.strip()
            match = _RANGE_RE.match(text)
            if not match or text[:5] >= text[6:]:
                raise InvalidInput(Text("hours: %(text)r is not a range like 08:00-12:30", text=text), field="hours")
            slots.append((text, "-".join(parts)))
    return slots


def holiday_dates(calendar: str, years: Iterable[int]) -> list[tuple]:
    """(date, name) of the public holidays of `calendar` ("FR", "FR-57", "FR-974"...)."""
    if not calendar:
        return []
    import holidays  # pure computation; imported here so the model's import stays light

    country, _, subdiv = calendar.partition("-")
    try:
        table = holidays.country_holidays(country, subdiv=subdiv or None, years=list(years))
    except NotImplementedError:
        raise InvalidInput(Text("unknown holiday calendar %(calendar)r", calendar=calendar), field="holidays") from None
    return sorted(table.items())


def _dialplan_value(text: str) -> str:
    """Values placed in dialplan lines come from validated fields; refuse anything else."""
    if re.search(r"[\x00-\x1f,;()\[\]$\"\\]", text):
        raise InvalidInput(Text("%(text)r cannot go into a dialplan", text=text), field="dialplan")
    return text


def render_agent_to_agent(phones: Iterable[AgentAccount]) -> list[str]:
    """[ccserver-agent-to-agent]: one literal extension per provisioned SIP account (agents and
    supervisors' phones), dialling that endpoint and nothing else. The dialled text never reaches
    Dial: PJSIP URI-decodes the Request-URI into ${EXTEN}, so a pattern feeding ${EXTEN} to Dial
    let a phone dial `agent2&Local/...@ccserver-spy` (a second channel into any context)."""
    lines = [
        "; agents' and supervisors' phones call each other by SIP user name (included by",
        "; [ccserver-agents]); regenerated whenever the SIP accounts change",
        "[ccserver-agent-to-agent]",
    ]
    for user in sorted({p.sip_username for p in phones}):
        if not SIP_USER_RE.match(user or ""):
            raise InvalidInput(Text("SIP user %(user)r cannot be an extension", user=user), field="sip_username")
        lines += [f"exten => {user},1,Dial(PJSIP/{user},30)", " same => n,Hangup()"]
    return lines + [""]


def render_acd_dialplan(
    queues: Iterable[QueueDefinition],
    years: Iterable[int],
    phones: Iterable[AgentAccount] = (),
    media: MediaConfig | None = None,
) -> str:
    """Contexts for each queue: route its numbers, set the caller's language, check closed days,
    holidays and hours (this year and the next: regenerated daily), enter the queue (after its
    welcome prompt), overflow, closed message (a CcsClosed event records the call), callback on
    a key; and the extensions by which the provisioned phones call each other. `media` gives
    each queue's language, prompts and closed days (capabilities/media)."""
    media = media or MediaConfig()
    queues = sorted(queues, key=lambda q: q.name)
    years = list(years)
    lines = [
        "; generated by ccserver from the queues table: do not edit",
        "",
        *render_agent_to_agent(phones),
        # supervision: Local/<mode>-<agent sip user>@ccserver-spy, the other half bridged to
        # the supervisor's phone; DTMF 4/5/6 sent to that half switch the mode (option d)
        "[ccserver-spy]",
    ]
    for mode in SPY_MODES:
        literal = "".join(f"[{c}]" for c in mode)  # n, x, z are pattern letters: bracket them
        lines += [
            f"exten => _{literal}-.,1,ChanSpy(PJSIP/${{EXTEN:{len(mode) + 1}}}-,{chanspy_options(mode)})",
            " same => n,Hangup()",
        ]
    lines += ["", "[ccserver-routes]"]
    for q in queues:
        for number in q.numbers:
            lines.append(f"exten => {_dialplan_value(number)},1,Goto(ccq-{q.name},s,1)")
    lines.append("")
    for q in queues:
        name, tz = q.name, _dialplan_value(q.timezone)
        lines += [f"[ccq-{name}]", f"exten => s,1,NoOp(ccserver queue {name})", f" same => n,Set(__CCS_QUEUE={name})"]
        settings = media.of(name)
        language = media.language_of(name)
        if language:  # every sound from here on (announcements, closed, abandon) in that language
            lines.append(f" same => n,Set(CHANNEL(language)={_dialplan_value(language)})")
        # closed days, holidays and hours: the same lines decide for callers and for transfers
        opening = closed_day_lines(settings.closed_days, tz, years)
        for day, label in holiday_dates(q.holidays, years):
            opening.append(
                f" same => n,GotoIfTime(*,*,{day.day},{_MONTHS[day.month - 1]},{tz}?"
                f"closed,1) ; {day.isoformat()} {_dialplan_value(label.replace(',', ''))}"
            )
        slots = parse_hours(q.hours)
        if slots:
            for times, days in slots:
                opening.append(f" same => n,GotoIfTime({times},{days},*,*,{tz}?open,1)")
            opening.append(" same => n,Goto(closed,1)")
        else:
            opening.append(" same => n,Goto(open,1)")
        lines += opening
        max_wait = str(q.max_wait_seconds) if q.max_wait_seconds else ""
        welcome = media.prompt(settings.welcome_prompt)
        closed = media.prompt(settings.closed_prompt) or q.closed_message or "sorry"
        lines += [
            "exten => open,1,Set(__CCS_ENTERED=${EPOCH})",
            " same => n,Answer()",
            *([f" same => n,Playback({_dialplan_value(welcome)})"] if welcome else []),
            # t: the agent may transfer (the desk's hold and transfers: capabilities/callcontrol)
            f" same => n,Queue({name},t,,,{max_wait})",
            ' same => n,GotoIf($["${QUEUESTATUS}" = "TIMEOUT"]?overflow,1)',
            " same => n,Hangup()",
        ]
        destination, action = _overflow(q)
        lines += [
            f"exten => overflow,1,UserEvent(CcsOverflow,Queue: {name},Destination: {destination})",
            f" same => n,{action}",
            " same => n,Hangup()",
            # the call is recorded as closed (its record, outcome 'closed'), then hears why
            f"exten => closed,1,UserEvent(CcsClosed,Queue: {name})",
            " same => n,Answer()",
            f" same => n,Playback({_dialplan_value(closed)})",
            " same => n,Hangup()",
            "",
            # is the queue open now? (Gosub from [ccserver-xfer]: a transfer to a queue closed
            # by its hours, holidays or closed days fails at once, GOSUB_RETVAL = closed)
            f"[ccserver-hours-{name}]",
            f"exten => s,1,NoOp(is queue {name} open)",
            *opening,
            "exten => open,1,Return(open)",
            "exten => closed,1,Return(closed)",
            "",
        ]
        if q.callback_key or q.overflow_kind == "callback":
            if q.callback_key:
                lines += [f"[ccq-{name}-exit]", f"exten => {q.callback_key},1,Goto(ccq-{name}-callback,s,1)", ""]
            lines += [
                f"[ccq-{name}-callback]",
                # a callback dials the trunk with a number the caller may type: only a
                # customer's line (the trunk) may ask, never a provisioned phone, whose
                # external calls go through the outbound compliance engine only
                'exten => s,1,GotoIf($["${CHANNEL(endpoint)}" != "customers"]?refused,1)',
                # the number goes into a UserEvent: never a caller-chosen ',' or line break
                " same => n,Set(CBNUM=${FILTER(0123456789+,${CALLERID(num)})})",
                " same => n,Read(TYPED,vm-enter-num-to-call,20,,1,6)",
                ' same => n,GotoIf($["${TYPED}" = ""]?keep)',
                " same => n,Set(CBNUM=${FILTER(0123456789,${TYPED})})",
                # the event carries the channel's Uniqueid and Linkedid itself
                f" same => n(keep),UserEvent(CcsCallback,Queue: {name},Number: ${{CBNUM}},EnteredAt: ${{CCS_ENTERED}})",
                " same => n,Playback(auth-thankyou)",
                " same => n,Hangup()",
                "exten => refused,1,Log(NOTICE,ccserver: callback from ${CHANNEL(name)} "
                f"in {name} refused: not a customer's line)",
                " same => n,Playback(sorry)",
                " same => n,Hangup()",
                "",
                # when the callback's turn comes: a Local channel takes the caller's place
                f"[ccq-{name}-cbqueue]",
                "exten => _X.,1,Set(QUEUE_PRIO=10)",
                f" same => n,Queue({name},t)",
                " same => n,Hangup()",
                "",
                f"[ccq-{name}-cbdial]",
                "exten => _X.,1,Dial(PJSIP/customers/sip:${EXTEN}@${CCS_TRUNK_HOST},60)",
                " same => n,Hangup()",
                "",
            ]
    return "\n".join(lines) + "\n"


def _overflow(q: QueueDefinition) -> tuple[str, str]:
    if q.overflow_kind == "queue":
        return f"queue:{q.overflow_target}", f"Goto(ccq-{q.overflow_target},open,1)"
    if q.overflow_kind == "voicemail":
        return f"voicemail:{q.overflow_target}", f"VoiceMail({q.overflow_target}@default,u)"
    if q.overflow_kind == "callback":
        return "callback", f"Goto(ccq-{q.name}-callback,s,1)"
    return q.overflow_kind, "Playback(sorry)"
