"""IVR (SVI) scripts: the script model and the pure runtime.

A script (see ``ivr_scripts/README.md`` for the YAML format) is parsed by `loader.py` into the
frozen dataclasses below. A call in the IVR is an `IvrCall`: a pure state machine created from
one script *version* (it keeps a reference to it, so activating a new version never changes a
call in progress) and fed input events (`Started`, `PlaybackFinished`, `Dtmf`, `TimerExpired`,
`LookupDone`, `CallerHungUp`, `AdapterError`). Each input returns the list of `Action`s the ARI
adapter has to perform (`Play`, `StopPlayback`, `StartTimer`, `CancelTimer`, `Lookup`,
`SendToQueue`, `SendToVoicemail`, `RequestCallback`, `Transfer`, `Hangup`,
`ContinueInDialplan`). The runtime never awaits, never touches a channel and never raises: any
exception, or an `AdapterError` input, sends the caller to the script's fallback.

Ids: each `Play` carries a `playback_id`, each `StartTimer` a `timer_id` and each `Lookup` a
`request_id`. The adapter echoes them back (`PlaybackFinished(playback_id)`...), so a late event
of a playback that was stopped, or of a timer that was replaced, is recognised and ignored. A
call has at most one timer: `StartTimer` replaces the previous one.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from ccserver.core.clock import Clock
from ccserver.core.text import Text, with_texts

logger = logging.getLogger(__name__)

DTMF_KEYS = frozenset("0123456789*#")
PROMPT_KINDS = ("sound", "recording", "digits", "number", "characters")
VALIDATORS = ("digits", "customer_number", "date", "regex")
BUILTIN_VARIABLES = frozenset({"caller_number", "did", "exten", "uniqueid", "language", "customer_id"})
_TEMPLATE_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}")

# outcomes after which an AdapterError (the hand-over failed) still sends the caller to the
# fallback: the caller is still on the line
_RETRYABLE_OUTCOMES = ("voicemail", "transfer", "callback")

# nodes entered without caller input (goto/set/hours...) in one step before the runtime calls it
# a loop; and nodes entered over a whole call
MAX_HOPS_PER_INPUT = 100
MAX_NODES_PER_CALL = 2_000


class IvrRuntimeError(Exception):
    """A script failed while a call was running it (the call goes to the fallback)."""


# --- validation issues ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One error in a script: printed as ``FILE:LINE: node NODE: message``."""

    file: str
    line: int
    node: str | None
    message: str

    def __str__(self) -> str:
        where = f"node {self.node}" if self.node else "script"
        return f"{self.file}:{self.line}: {where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "node": self.node, **with_texts({"message": self.message})}


# --- script model --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialplanTarget:
    context: str
    exten: str = "s"
    priority: int = 1


DEFAULT_FALLBACK = DialplanTarget("ccserver-ivr-fallback", "s", 1)


@dataclass(frozen=True, kw_only=True)
class Node:
    """A node of a script. `lines` maps a field (``next``, ``choices.1``, ``prompt.0``...) to the
    line it is written on, for error messages."""

    type: ClassVar[str] = ""
    # the call leaves the IVR here (to a queue, voicemail, an external number, or hangs up)
    terminal: ClassVar[bool] = False
    # runs at once, without waiting for the caller or Asterisk (goto, set, hours)
    immediate: ClassVar[bool] = False

    id: str
    line: int = 0
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)

    def successors(self) -> list[tuple[str, str]]:
        """(field, node id) of every node this one can go to."""
        return []

    def prompt_fields(self) -> list[tuple[str, tuple[str, ...]]]:
        return []

    def implicit_exit(self) -> bool:
        """True when some path of this node leaves through the fallback or a hang-up that is
        not written as a node (menu without on_exhausted, callback without next...)."""
        return False


def _refs(*pairs: tuple[str, str | None]) -> list[tuple[str, str]]:
    return [(name, target) for name, target in pairs if target]


@dataclass(frozen=True, kw_only=True)
class PlayNode(Node):
    type: ClassVar[str] = "play"
    prompts: tuple[str, ...] = ()
    next: str | None = None
    interruptible: bool = False

    def successors(self):
        return _refs(("next", self.next))

    def prompt_fields(self):
        return [("prompt", self.prompts)]


@dataclass(frozen=True, slots=True)
class MenuChoice:
    key: str
    next: str
    label: str = ""


@dataclass(frozen=True, kw_only=True)
class MenuNode(Node):
    type: ClassVar[str] = "menu"
    prompts: tuple[str, ...] = ()
    choices: tuple[MenuChoice, ...] = ()
    timeout: float = 5.0
    retries: int = 2
    on_timeout: tuple[str, ...] = ()
    on_invalid: tuple[str, ...] = ()
    on_exhausted: str | None = None

    def choice(self, key: str) -> MenuChoice | None:
        for choice in self.choices:
            if choice.key == key:
                return choice
        return None

    def successors(self):
        refs = [(f"choices.{c.key}", c.next) for c in self.choices if c.next]
        return refs + _refs(("on_exhausted", self.on_exhausted))

    def prompt_fields(self):
        return [("prompt", self.prompts), ("on_timeout", self.on_timeout), ("on_invalid", self.on_invalid)]

    def implicit_exit(self):
        return self.on_exhausted is None


@dataclass(frozen=True, kw_only=True)
class CollectNode(Node):
    type: ClassVar[str] = "collect"
    prompts: tuple[str, ...] = ()
    store_as: str = ""
    min_digits: int = 1
    max_digits: int = 20
    terminator: str | None = "#"
    timeout: float = 5.0
    digit_timeout: float = 3.0
    validate: str = "digits"
    pattern: str | None = None
    checksum: str | None = None
    retries: int = 2
    on_timeout: tuple[str, ...] = ()
    on_invalid: tuple[str, ...] = ()
    next: str | None = None
    on_exhausted: str | None = None

    def successors(self):
        return _refs(("next", self.next), ("on_exhausted", self.on_exhausted))

    def prompt_fields(self):
        return [("prompt", self.prompts), ("on_timeout", self.on_timeout), ("on_invalid", self.on_invalid)]

    def implicit_exit(self):
        return self.on_exhausted is None


# a day's opening ranges, in minutes since midnight: ((510, 720), (810, 1080))
Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True, kw_only=True)
class HoursNode(Node):
    type: ClassVar[str] = "hours"
    immediate: ClassVar[bool] = True
    timezone: str = "Europe/Paris"
    # index 0 is Monday
    schedule: tuple[Ranges, ...] = ((),) * 7
    holidays_country: str | None = "FR"
    holidays_subdiv: str | None = None
    closed_dates: tuple[tuple[date, date], ...] = ()
    special_days: Mapping[date, Ranges] = field(default_factory=dict)
    open: str | None = None
    closed: str | None = None
    holiday: str | None = None

    def successors(self):
        return _refs(("open", self.open), ("closed", self.closed), ("holiday", self.holiday))


@dataclass(frozen=True, kw_only=True)
class LookupNode(Node):
    type: ClassVar[str] = "lookup"
    source: str = "caller_number"  # or "collected"
    variable: str | None = None
    timeout: float = 3.0
    found: str | None = None
    not_found: str | None = None
    on_error: str | None = None

    @property
    def kind(self) -> str:
        return "phone" if self.source == "caller_number" else "customer_id"

    def successors(self):
        return _refs(("found", self.found), ("not_found", self.not_found), ("on_error", self.on_error))


@dataclass(frozen=True, kw_only=True)
class SetNode(Node):
    type: ClassVar[str] = "set"
    immediate: ClassVar[bool] = True
    data: tuple[tuple[str, str], ...] = ()
    language: str | None = None
    next: str | None = None

    def successors(self):
        return _refs(("next", self.next))


@dataclass(frozen=True, kw_only=True)
class QueueNode(Node):
    type: ClassVar[str] = "queue"
    terminal: ClassVar[bool] = True
    queue: str = ""
    skills: tuple[tuple[str, int], ...] = ()
    priority: int = 0
    prompts: tuple[str, ...] = ()

    def prompt_fields(self):
        return [("prompt", self.prompts)]


@dataclass(frozen=True, kw_only=True)
class VoicemailNode(Node):
    type: ClassVar[str] = "voicemail"
    terminal: ClassVar[bool] = True
    mailbox: str = ""
    prompts: tuple[str, ...] = ()

    def prompt_fields(self):
        return [("prompt", self.prompts)]


@dataclass(frozen=True, kw_only=True)
class CallbackNode(Node):
    type: ClassVar[str] = "callback"
    source: str = "caller_number"  # or "collected"
    variable: str | None = None
    queue: str | None = None
    prompts: tuple[str, ...] = ()
    next: str | None = None
    on_error: str | None = None

    def successors(self):
        return _refs(("next", self.next), ("on_error", self.on_error))

    def prompt_fields(self):
        return [("prompt", self.prompts)]

    def implicit_exit(self):
        return self.next is None or self.on_error is None


@dataclass(frozen=True, kw_only=True)
class TransferNode(Node):
    type: ClassVar[str] = "transfer"
    terminal: ClassVar[bool] = True
    number: str = ""
    prompts: tuple[str, ...] = ()

    def prompt_fields(self):
        return [("prompt", self.prompts)]


@dataclass(frozen=True, kw_only=True)
class HangupNode(Node):
    type: ClassVar[str] = "hangup"
    terminal: ClassVar[bool] = True
    prompts: tuple[str, ...] = ()

    def prompt_fields(self):
        return [("prompt", self.prompts)]


@dataclass(frozen=True, kw_only=True)
class GotoNode(Node):
    type: ClassVar[str] = "goto"
    immediate: ClassVar[bool] = True
    next: str | None = None

    def successors(self):
        return _refs(("next", self.next))


@dataclass(frozen=True, kw_only=True)
class BrokenNode(Node):
    """A node whose definition could not be read (unknown type, not a mapping...). It only exists
    so the validator can follow references without reporting follow-on errors."""

    type: ClassVar[str] = "broken"
    terminal: ClassVar[bool] = True
    refs: tuple[str, ...] = ()

    def successors(self):
        return [("?", ref) for ref in self.refs]


NODE_TYPES: dict[str, type[Node]] = {
    cls.type: cls
    for cls in (
        PlayNode,
        MenuNode,
        CollectNode,
        HoursNode,
        LookupNode,
        SetNode,
        QueueNode,
        VoicemailNode,
        CallbackNode,
        TransferNode,
        HangupNode,
        GotoNode,
    )
}


@dataclass(frozen=True, kw_only=True)
class IvrScript:
    """One version of a script. Immutable: a running call keeps the object it started with."""

    name: str
    version: str = "1"
    description: str = ""
    entry: str | None = None
    fallback_node: str | None = None
    fallback_dialplan: DialplanTarget | None = None
    language: str = "fr"
    timezone: str = "Europe/Paris"
    dids: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    nodes: Mapping[str, Node] = field(default_factory=dict)
    file: str = "<string>"
    line: int = 1
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    digest: str = ""
    # the stored version number (ivr_script_versions.number); 0 when not stored
    revision: int = 0
    # errors found while reading the file; the validator adds the semantic ones
    parse_issues: tuple[ValidationIssue, ...] = ()

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


# --- statistics ----------------------------------------------------------------------------


@dataclass
class NodeStats:
    entered: int = 0
    choices: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    invalid: int = 0
    exhausted: int = 0
    hangups: int = 0
    errors: int = 0

    def merged(self, other: NodeStats) -> NodeStats:
        choices = dict(self.choices)
        for key, count in other.choices.items():
            choices[key] = choices.get(key, 0) + count
        return NodeStats(
            self.entered + other.entered,
            choices,
            self.timeouts + other.timeouts,
            self.invalid + other.invalid,
            self.exhausted + other.exhausted,
            self.hangups + other.hangups,
            self.errors + other.errors,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "entered": self.entered,
            "choices": dict(self.choices),
            "timeouts": self.timeouts,
            "invalid": self.invalid,
            "exhausted": self.exhausted,
            "hangups": self.hangups,
            "errors": self.errors,
        }


@dataclass
class ScriptStats:
    calls: int = 0
    # how calls left the IVR: "queue:facturation", "voicemail", "transfer", "hangup" (by the
    # script), "caller_hangup" (the caller hung up in the IVR), "fallback"
    outcomes: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, NodeStats] = field(default_factory=dict)

    def node(self, node_id: str) -> NodeStats:
        stats = self.nodes.get(node_id)
        if stats is None:
            stats = self.nodes[node_id] = NodeStats()
        return stats

    def merged(self, other: ScriptStats) -> ScriptStats:
        outcomes = dict(self.outcomes)
        for key, count in other.outcomes.items():
            outcomes[key] = outcomes.get(key, 0) + count
        nodes = {key: value.merged(NodeStats()) for key, value in self.nodes.items()}
        for key, value in other.nodes.items():
            nodes[key] = nodes[key].merged(value) if key in nodes else value.merged(NodeStats())
        return ScriptStats(self.calls + other.calls, outcomes, nodes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "outcomes": dict(self.outcomes),
            "nodes": {key: value.to_dict() for key, value in self.nodes.items()},
        }


@dataclass
class IvrStats:
    """Counters per script and node. One `IvrStats` can be shared by many calls (they add to
    it) or kept per call / per process and combined with `merged`."""

    scripts: dict[str, ScriptStats] = field(default_factory=dict)

    def script(self, name: str) -> ScriptStats:
        stats = self.scripts.get(name)
        if stats is None:
            stats = self.scripts[name] = ScriptStats()
        return stats

    def node(self, script: str, node_id: str) -> NodeStats:
        return self.script(script).node(node_id)

    def merged(self, other: IvrStats) -> IvrStats:
        scripts = {key: value.merged(ScriptStats()) for key, value in self.scripts.items()}
        for key, value in other.scripts.items():
            scripts[key] = scripts[key].merged(value) if key in scripts else value.merged(ScriptStats())
        return IvrStats(scripts)

    def to_dict(self) -> dict[str, Any]:
        return {key: value.to_dict() for key, value in self.scripts.items()}


# --- runtime inputs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallInfo:
    uniqueid: str
    caller_number: str = ""
    did: str = ""
    exten: str = ""
    channel: str = ""
    language: str | None = None


class Input:
    """An event the adapter feeds to `IvrCall.handle`."""


@dataclass(frozen=True, slots=True)
class Started(Input):
    """The channel entered the Stasis application (answered)."""


@dataclass(frozen=True, slots=True)
class PlaybackFinished(Input):
    playback_id: str | None = None


@dataclass(frozen=True, slots=True)
class Dtmf(Input):
    digit: str


@dataclass(frozen=True, slots=True)
class TimerExpired(Input):
    timer_id: str | None = None


@dataclass(frozen=True, slots=True)
class LookupDone(Input):
    """Answer to a `Lookup`: `found` with the customer record, or `error` when the lookup
    itself failed."""

    found: bool
    customer: Mapping[str, Any] | None = None
    request_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CallerHungUp(Input):
    pass


@dataclass(frozen=True, slots=True)
class AdapterError(Input):
    """The adapter failed to perform an action (playback failed, channel error...)."""

    error: str


# --- runtime actions -----------------------------------------------------------------------


class Action:
    kind: ClassVar[str] = "action"


@dataclass(frozen=True, slots=True)
class Play(Action):
    """Play the media in order (ARI media URIs: ``sound:custom/bienvenue``,
    ``recording:annonce``, ``digits:1234``...). When `interruptible`, the adapter forwards DTMF
    during the playback; the runtime answers with `StopPlayback` when it wants it stopped."""

    kind: ClassVar[str] = "play"
    playback_id: str
    media: tuple[str, ...]
    language: str
    interruptible: bool = False


@dataclass(frozen=True, slots=True)
class StopPlayback(Action):
    kind: ClassVar[str] = "stop_playback"
    playback_id: str


@dataclass(frozen=True, slots=True)
class StartTimer(Action):
    """Start (or restart: a call has one timer) a timer; feed `TimerExpired(timer_id)`."""

    kind: ClassVar[str] = "start_timer"
    timer_id: str
    seconds: float


@dataclass(frozen=True, slots=True)
class CancelTimer(Action):
    kind: ClassVar[str] = "cancel_timer"
    timer_id: str


@dataclass(frozen=True, slots=True)
class Lookup(Action):
    """Look up a customer (`kind` is ``phone`` or ``customer_id``); feed `LookupDone`."""

    kind: ClassVar[str] = "lookup"
    request_id: str
    lookup: str
    value: str


@dataclass(frozen=True, slots=True)
class SendToQueue(Action):
    kind: ClassVar[str] = "send_to_queue"
    queue: str
    skills: Mapping[str, int]
    priority: int
    call_data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SendToVoicemail(Action):
    kind: ClassVar[str] = "send_to_voicemail"
    mailbox: str
    call_data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RequestCallback(Action):
    """Record a callback request; the call itself goes on in the script."""

    kind: ClassVar[str] = "request_callback"
    number: str
    queue: str | None
    call_data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Transfer(Action):
    kind: ClassVar[str] = "transfer"
    number: str
    call_data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Hangup(Action):
    kind: ClassVar[str] = "hangup"


@dataclass(frozen=True, slots=True)
class ContinueInDialplan(Action):
    """Leave Stasis and continue in the dialplan (the fallback)."""

    kind: ClassVar[str] = "continue_in_dialplan"
    context: str
    exten: str
    priority: int
    reason: str
    call_data: Mapping[str, Any]


# --- call data for CTI ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MenuStep:
    node: str
    key: str
    label: str


@dataclass
class IvrCallData:
    """What the IVR learned about the call; travels with it to the agent's screen-pop."""

    script: str
    version: str
    uniqueid: str
    caller_number: str = ""
    did: str = ""
    exten: str = ""
    language: str = "fr"
    customer_id: str | None = None
    customer: dict[str, Any] = field(default_factory=dict)
    menu_path: list[MenuStep] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    collected: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    hours: str | None = None
    outcome: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ivr_script": self.script,
            "ivr_version": self.version,
            "uniqueid": self.uniqueid,
            "caller_number": self.caller_number,
            "did": self.did,
            "exten": self.exten,
            "language": self.language,
            "customer_id": self.customer_id,
            "customer": dict(self.customer),
            "menu_path": [f"{step.node}:{step.key}" for step in self.menu_path],
            "menu_labels": [step.label or step.key for step in self.menu_path],
            "nodes": list(self.nodes),
            "collected": dict(self.collected),
            "data": dict(self.data),
            "hours": self.hours,
            "outcome": self.outcome,
            "error": self.error,
        }

    def channel_variables(self) -> dict[str, str]:
        """The same, flattened into Asterisk channel variables (``IVR_CUSTOMER_ID``...)."""
        out = {
            "IVR_SCRIPT": self.script,
            "IVR_VERSION": self.version,
            "IVR_LANGUAGE": self.language,
            "IVR_CUSTOMER_ID": self.customer_id or "",
            "IVR_MENU_PATH": ",".join(f"{s.node}:{s.key}" for s in self.menu_path),
            "IVR_MENU_LABELS": " > ".join(s.label or s.key for s in self.menu_path),
        }
        for key, value in self.collected.items():
            out[f"IVR_COLLECTED_{key.upper()}"] = value
        for key, value in self.data.items():
            out[f"IVR_DATA_{key.upper()}"] = value
        return out


# --- pure rules used by the runtime (and the validator) -------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def check_collected(node: CollectNode, value: str) -> str | None:
    """The value to store when `value` is acceptable for `node`, else None. Dates (DDMMYYYY)
    are stored as ISO dates (YYYY-MM-DD)."""
    if not node.min_digits <= len(value) <= node.max_digits:
        return None
    if node.validate == "regex" or (node.pattern and node.validate == "digits"):
        return value if re.fullmatch(node.pattern or "", value) else None
    if not value.isdigit():
        return None
    if node.validate == "date":
        if len(value) != 8:
            return None
        try:
            day = date(int(value[4:]), int(value[2:4]), int(value[:2]))
        except ValueError:
            return None
        return day.isoformat()
    if node.validate == "customer_number":
        if node.checksum == "luhn" and not luhn_ok(value):
            return None
        if node.pattern and not re.fullmatch(node.pattern, value):
            return None
    return value


@lru_cache(maxsize=64)
def _holiday_calendar(country: str, subdiv: str | None, year: int):
    return holidays_lib.country_holidays(country, subdiv=subdiv, years=year)


def holiday_name(country: str, subdiv: str | None, day: date) -> str | None:
    return _holiday_calendar(country, subdiv, day.year).get(day)


def _in_ranges(ranges: Ranges, minute: int) -> bool:
    return any(start <= minute < end for start, end in ranges)


def hours_status(node: HoursNode, now: datetime) -> tuple[str, str]:
    """("open" | "closed" | "holiday", reason) for the instant `now` (timezone-aware)."""
    local = now.astimezone(ZoneInfo(node.timezone))
    day = local.date()
    minute = local.hour * 60 + local.minute
    if day in node.special_days:
        ranges = node.special_days[day]
        return ("open", "special day") if _in_ranges(ranges, minute) else ("closed", "special day")
    for first, last in node.closed_dates:
        if first <= day <= last:
            return "holiday", "closed date"
    if node.holidays_country:
        name = holiday_name(node.holidays_country, node.holidays_subdiv, day)
        if name:
            return "holiday", name
    if _in_ranges(node.schedule[local.weekday()], minute):
        return "open", "opening hours"
    return "closed", "outside opening hours"


# --- the runtime ---------------------------------------------------------------------------


class IvrCall:
    """One call running one script version. Feed inputs, perform the returned actions.

    `handle(input)` (or the shortcuts `start()`, `playback_finished()`, `dtmf()`, `timeout()`,
    `lookup_result()`, `hangup()`, `error()`) never raises. After the call left the IVR
    (`finished`), inputs are ignored and return no action.
    """

    def __init__(
        self,
        script: IvrScript,
        info: CallInfo,
        clock: Clock,
        *,
        stats: IvrStats | None = None,
        default_fallback: DialplanTarget = DEFAULT_FALLBACK,
    ) -> None:
        self.script = script
        self.info = info
        self.clock = clock
        self.stats = stats if stats is not None else IvrStats()
        self.default_fallback = default_fallback
        self.call_data = IvrCallData(
            script=script.name,
            version=script.version,
            uniqueid=info.uniqueid,
            caller_number=info.caller_number,
            did=info.did,
            exten=info.exten,
            language=info.language or script.language,
        )
        self.node: Node | None = None
        self.phase = ""
        self.attempts = 0
        self.digits = ""
        self.playback_id: str | None = None
        self.timer_id: str | None = None
        self.request_id: str | None = None
        self.started = False
        self.finished = False
        self.outcome: str | None = None
        self.in_fallback = False
        self.errors: list[str] = []
        self._seq = 0
        self._hops = 0
        self._nodes_entered = 0
        self._pending_terminator: str | None = None

    # -- public API ---------------------------------------------------------------------------

    def start(self) -> list[Action]:
        return self.handle(Started())

    def playback_finished(self, playback_id: str | None = None) -> list[Action]:
        return self.handle(PlaybackFinished(playback_id))

    def dtmf(self, digit: str) -> list[Action]:
        return self.handle(Dtmf(digit))

    def timeout(self, timer_id: str | None = None) -> list[Action]:
        return self.handle(TimerExpired(timer_id))

    def lookup_result(
        self,
        found: bool,
        customer: Mapping[str, Any] | None = None,
        *,
        request_id: str | None = None,
        error: str | None = None,
    ) -> list[Action]:
        return self.handle(LookupDone(found, customer, request_id, error))

    def hangup(self) -> list[Action]:
        return self.handle(CallerHungUp())

    def error(self, error: BaseException | str) -> list[Action]:
        return self.handle(AdapterError(error if isinstance(error, str) else repr(error)))

    @property
    def node_id(self) -> str | None:
        return self.node.id if self.node else None

    def handle(self, event: Input) -> list[Action]:
        if self.finished:
            if not (
                isinstance(event, AdapterError)
                and self.outcome is not None
                and (self.outcome in _RETRYABLE_OUTCOMES or self.outcome.startswith("queue:"))
            ):
                return []
            # the adapter could not hand the call over (queue, voicemail, transfer...): the
            # caller is still there, send them to the fallback
            self._unfinish()
        if isinstance(event, CallerHungUp):
            return self._on_hangup()
        if not self.started and not isinstance(event, (Started, AdapterError)):
            return []
        out: list[Action] = []
        before = (self.playback_id, self.timer_id)
        self._hops = 0
        try:
            if isinstance(event, AdapterError):
                raise IvrRuntimeError(Text("adapter error: %(error)s", error=event.error))
            self._dispatch(event, out)
        except Exception as exc:  # never strand the caller
            return self._recover(exc, before)
        return out

    # -- dispatch -----------------------------------------------------------------------------

    def _dispatch(self, event: Input, out: list[Action]) -> None:
        if isinstance(event, Started):
            if self.started:
                return
            self.started = True
            self.stats.script(self.script.name).calls += 1
            if not self.script.entry:
                raise IvrRuntimeError("script has no entry node")
            self._goto(self.script.entry, out)
        elif isinstance(event, PlaybackFinished):
            self._on_playback_finished(event.playback_id, out)
        elif isinstance(event, Dtmf):
            self._on_dtmf(event.digit, out)
        elif isinstance(event, TimerExpired):
            self._on_timer(event.timer_id, out)
        elif isinstance(event, LookupDone):
            self._on_lookup(event, out)
        else:
            raise IvrRuntimeError(Text("unknown input %(event)r", event=event))

    def _recover(self, exc: Exception, before: tuple[str | None, str | None]) -> list[Action]:
        node = self.node_id
        reason = f"{type(exc).__name__}: {exc}" if not isinstance(exc, IvrRuntimeError) else str(exc)
        logger.error(
            "ivr call %s: script %s node %s failed: %s; sending to fallback",
            self.info.uniqueid,
            self.script.label,
            node,
            reason,
            exc_info=not isinstance(exc, IvrRuntimeError),
        )
        self.errors.append(f"{node}: {reason}")
        self.call_data.error = f"{node}: {reason}"
        if node:
            self.stats.node(self.script.name, node).errors += 1
        out: list[Action] = []
        playback, timer = before
        if playback:
            out.append(StopPlayback(playback))
        if timer:
            out.append(CancelTimer(timer))
        self.playback_id = self.timer_id = self.request_id = None
        self._fallback(reason, out)
        return out

    def _fallback(self, reason: str, out: list[Action]) -> None:
        target = self.script.fallback_node
        if target and not self.in_fallback and target in self.script.nodes:
            self.in_fallback = True
            self._hops = 0
            attempt: list[Action] = []
            try:
                self._goto(target, attempt)
            except Exception as exc:
                logger.error(
                    "ivr call %s: script %s fallback node %s failed: %s",
                    self.info.uniqueid,
                    self.script.label,
                    target,
                    exc,
                )
                self.errors.append(f"{target}: {exc}")
                self.playback_id = self.timer_id = self.request_id = None
            else:
                out.extend(attempt)
                return
        dialplan = self.script.fallback_dialplan or self.default_fallback
        self._finish("fallback")
        out.append(
            ContinueInDialplan(dialplan.context, dialplan.exten, dialplan.priority, reason, self.call_data.to_dict())
        )

    # -- helpers ------------------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{self.info.uniqueid}-{prefix}{self._seq}"

    def _node_stats(self) -> NodeStats:
        assert self.node is not None
        return self.stats.node(self.script.name, self.node.id)

    def _unfinish(self) -> None:
        outcomes = self.stats.script(self.script.name).outcomes
        if self.outcome and outcomes.get(self.outcome):
            outcomes[self.outcome] -= 1
            if not outcomes[self.outcome]:
                del outcomes[self.outcome]
        self.finished = False
        self.outcome = self.call_data.outcome = None

    def _finish(self, outcome: str) -> None:
        self.finished = True
        self.outcome = outcome
        self.call_data.outcome = outcome
        outcomes = self.stats.script(self.script.name).outcomes
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    def _variables(self, name: str) -> str:
        data = self.call_data
        if name.startswith("customer."):
            key = name.split(".", 1)[1]
            if key not in data.customer:
                raise IvrRuntimeError(Text("no customer field %(key)r", key=key))
            return str(data.customer[key])
        if name in data.collected:
            return data.collected[name]
        if name in data.data:
            return data.data[name]
        builtin = {
            "caller_number": data.caller_number,
            "did": data.did,
            "exten": data.exten,
            "uniqueid": data.uniqueid,
            "language": data.language,
            "customer_id": data.customer_id,
        }
        if name in builtin and builtin[name] is not None:
            return builtin[name]
        raise IvrRuntimeError(Text("variable %(name)r has no value", name=name))

    def render(self, template: str) -> str:
        return _TEMPLATE_RE.sub(lambda m: self._variables(m.group(1)), template)

    def _play(self, media: tuple[str, ...], out: list[Action], *, interruptible: bool, phase: str) -> None:
        playback_id = self._next_id("play")
        self.playback_id = playback_id
        self.phase = phase
        out.append(Play(playback_id, tuple(self.render(m) for m in media), self.call_data.language, interruptible))

    def _stop_playback(self, out: list[Action]) -> None:
        if self.playback_id:
            out.append(StopPlayback(self.playback_id))
            self.playback_id = None

    def _start_timer(self, seconds: float, out: list[Action]) -> None:
        self.timer_id = self._next_id("timer")
        out.append(StartTimer(self.timer_id, seconds))

    def _cancel_timer(self, out: list[Action]) -> None:
        if self.timer_id:
            out.append(CancelTimer(self.timer_id))
            self.timer_id = None

    # -- entering nodes -----------------------------------------------------------------------

    def _goto(self, node_id: str | None, out: list[Action]) -> None:
        if not node_id:
            raise IvrRuntimeError(Text("node %(node_id)s has nowhere to go", node_id=self.node_id))
        node = self.script.nodes.get(node_id)
        if node is None or isinstance(node, BrokenNode):
            raise IvrRuntimeError(Text("unknown node %(node_id)r", node_id=node_id))
        self._hops += 1
        self._nodes_entered += 1
        if self._hops > MAX_HOPS_PER_INPUT:
            raise IvrRuntimeError(Text("loop: %(hops)s nodes entered without caller input", hops=self._hops))
        if self._nodes_entered > MAX_NODES_PER_CALL:
            raise IvrRuntimeError(
                Text("more than %(MAX_NODES_PER_CALL)s nodes in one call", MAX_NODES_PER_CALL=MAX_NODES_PER_CALL)
            )
        self.node = node
        self.phase = ""
        self.attempts = 0
        self.digits = ""
        self.call_data.nodes.append(node.id)
        self._node_stats().entered += 1
        getattr(self, f"_enter_{node.type}")(node, out)

    def _enter_play(self, node: PlayNode, out: list[Action]) -> None:
        self._play(node.prompts, out, interruptible=node.interruptible, phase="prompt")

    def _enter_menu(self, node: MenuNode, out: list[Action]) -> None:
        self._play(node.prompts, out, interruptible=True, phase="prompt")

    def _enter_collect(self, node: CollectNode, out: list[Action]) -> None:
        self._play(node.prompts, out, interruptible=True, phase="prompt")

    def _enter_hours(self, node: HoursNode, out: list[Action]) -> None:
        status, reason = hours_status(node, self.clock.now())
        self.call_data.hours = status
        logger.debug("ivr call %s: node %s: %s (%s)", self.info.uniqueid, node.id, status, reason)
        if status == "open":
            self._goto(node.open, out)
        elif status == "holiday" and node.holiday:
            self._goto(node.holiday, out)
        else:
            self._goto(node.closed, out)

    def _enter_lookup(self, node: LookupNode, out: list[Action]) -> None:
        if node.source == "caller_number":
            value = self.call_data.caller_number
        else:
            value = self.call_data.collected.get(node.variable or "", "")
        if not value:
            self._goto(node.not_found, out)
            return
        self.request_id = self._next_id("lookup")
        self.phase = "lookup"
        out.append(Lookup(self.request_id, node.kind, value))
        self._start_timer(node.timeout, out)

    def _enter_set(self, node: SetNode, out: list[Action]) -> None:
        for key, value in node.data:
            self.call_data.data[key] = self.render(value)
        if node.language:
            self.call_data.language = node.language
        self._goto(node.next, out)

    def _enter_goto(self, node: GotoNode, out: list[Action]) -> None:
        self._goto(node.next, out)

    def _enter_queue(self, node: QueueNode, out: list[Action]) -> None:
        self._announce_then_leave(node, out)

    _enter_voicemail = _enter_queue
    _enter_transfer = _enter_queue
    _enter_hangup = _enter_queue

    def _announce_then_leave(self, node: Node, out: list[Action]) -> None:
        prompts = getattr(node, "prompts", ())
        if prompts:
            self._play(prompts, out, interruptible=False, phase="announce")
        else:
            self._leave(node, out)

    def _leave(self, node: Node, out: list[Action]) -> None:
        data = self.call_data
        if isinstance(node, QueueNode):
            self._finish(f"queue:{node.queue}")
            out.append(SendToQueue(node.queue, dict(node.skills), node.priority, data.to_dict()))
        elif isinstance(node, VoicemailNode):
            self._finish("voicemail")
            out.append(SendToVoicemail(node.mailbox, data.to_dict()))
        elif isinstance(node, TransferNode):
            self._finish("transfer")
            out.append(Transfer(node.number, data.to_dict()))
        elif isinstance(node, HangupNode):
            self._finish("hangup")
            out.append(Hangup())
        else:  # pragma: no cover - only terminal nodes get here
            raise IvrRuntimeError(Text("node %(id)s is not terminal", id=node.id))

    def _enter_callback(self, node: CallbackNode, out: list[Action]) -> None:
        if node.source == "caller_number":
            number = self.call_data.caller_number
        else:
            number = self.call_data.collected.get(node.variable or "", "")
        if not number:
            if node.on_error:
                self._goto(node.on_error, out)
                return
            raise IvrRuntimeError("no number to call back")
        out.append(RequestCallback(number, node.queue, self.call_data.to_dict()))
        self.call_data.data["callback_requested"] = number
        if node.prompts:
            self._play(node.prompts, out, interruptible=False, phase="confirm")
        else:
            self._after_callback(node, out)

    def _after_callback(self, node: CallbackNode, out: list[Action]) -> None:
        if node.next:
            self._goto(node.next, out)
        else:
            self._finish("callback")
            out.append(Hangup())

    # -- inputs -------------------------------------------------------------------------------

    def _on_playback_finished(self, playback_id: str | None, out: list[Action]) -> None:
        if self.playback_id is None or (playback_id is not None and playback_id != self.playback_id):
            return  # a playback we stopped, or one from an earlier node
        self.playback_id = None
        node = self.node
        if isinstance(node, PlayNode):
            self._goto(node.next, out)
        elif isinstance(node, (MenuNode, CollectNode)):
            if self.phase == "prompt":
                self.phase = "waiting"
                self._start_timer(node.timeout, out)
        elif isinstance(node, CallbackNode):
            self._after_callback(node, out)
        elif node is not None and node.terminal and self.phase == "announce":
            self._leave(node, out)

    def _on_dtmf(self, digit: str, out: list[Action]) -> None:
        if digit not in DTMF_KEYS:
            logger.debug("ivr call %s: ignoring DTMF %r", self.info.uniqueid, digit)
            return
        pending, self._pending_terminator = self._pending_terminator, None
        if pending and digit == pending:
            return  # the terminator typed after a number that was already complete
        node = self.node
        if isinstance(node, PlayNode):
            if node.interruptible and self.phase == "prompt" and self.playback_id:
                self._stop_playback(out)
                self._goto(node.next, out)
        elif isinstance(node, MenuNode):
            if self.phase in ("prompt", "waiting"):
                self._stop_playback(out)
                self._cancel_timer(out)
                self._menu_key(node, digit, out)
        elif isinstance(node, CollectNode) and self.phase in ("prompt", "waiting", "digits"):
            self._stop_playback(out)
            self._cancel_timer(out)
            self._collect_key(node, digit, out)

    def _on_timer(self, timer_id: str | None, out: list[Action]) -> None:
        if self.timer_id is None or (timer_id is not None and timer_id != self.timer_id):
            return
        self.timer_id = None
        node = self.node
        if isinstance(node, MenuNode) and self.phase == "waiting":
            self._retry(node, "timeout", out)
        elif isinstance(node, CollectNode):
            if self.phase == "digits":
                self._collect_done(node, out)
            elif self.phase == "waiting":
                self._retry(node, "timeout", out)
        elif isinstance(node, LookupNode) and self.phase == "lookup":
            self._node_stats().timeouts += 1
            self.request_id = None
            logger.warning("ivr call %s: node %s: customer lookup timed out", self.info.uniqueid, node.id)
            self._goto(node.on_error or node.not_found, out)

    def _on_lookup(self, event: LookupDone, out: list[Action]) -> None:
        node = self.node
        if not isinstance(node, LookupNode) or self.phase != "lookup" or self.request_id is None:
            return
        if event.request_id is not None and event.request_id != self.request_id:
            return
        self.request_id = None
        self._cancel_timer(out)
        if event.error:
            logger.warning("ivr call %s: node %s: customer lookup failed: %s", self.info.uniqueid, node.id, event.error)
            self._node_stats().errors += 1
            self._goto(node.on_error or node.not_found, out)
        elif event.found:
            customer = dict(event.customer or {})
            value = (
                self.call_data.caller_number
                if node.source == "caller_number"
                else self.call_data.collected.get(node.variable or "", "")
            )
            customer_id = customer.get("id", customer.get("customer_id"))
            if customer_id is None and node.source == "collected":
                customer_id = value
            self.call_data.customer = customer
            self.call_data.customer_id = None if customer_id is None else str(customer_id)
            self._goto(node.found, out)
        else:
            self._goto(node.not_found, out)

    def _on_hangup(self) -> list[Action]:
        out: list[Action] = []
        if self.node is not None:
            self._node_stats().hangups += 1
        self._cancel_timer(out)
        self.playback_id = None
        self._finish("caller_hangup")
        return out

    # -- menus and digit collection -----------------------------------------------------------

    def _menu_key(self, node: MenuNode, digit: str, out: list[Action]) -> None:
        choice = node.choice(digit)
        if choice is None:
            self._retry(node, "invalid", out)
            return
        choices = self._node_stats().choices
        choices[digit] = choices.get(digit, 0) + 1
        self.call_data.menu_path.append(MenuStep(node.id, digit, choice.label))
        self._goto(choice.next, out)

    def _collect_key(self, node: CollectNode, digit: str, out: list[Action]) -> None:
        if node.terminator and digit == node.terminator:
            self._collect_done(node, out)
            return
        self.digits += digit
        if len(self.digits) >= node.max_digits:
            self._collect_done(node, out)
            if node.terminator:
                self._pending_terminator = node.terminator
        else:
            self.phase = "digits"
            self._start_timer(node.digit_timeout, out)

    def _collect_done(self, node: CollectNode, out: list[Action]) -> None:
        value, self.digits = self.digits, ""
        stored = check_collected(node, value)
        if stored is None:
            logger.debug("ivr call %s: node %s: %r refused", self.info.uniqueid, node.id, value)
            self._retry(node, "invalid", out)
            return
        self.call_data.collected[node.store_as] = stored
        self._goto(node.next, out)

    def _retry(self, node: MenuNode | CollectNode, why: str, out: list[Action]) -> None:
        stats = self._node_stats()
        if why == "timeout":
            stats.timeouts += 1
        else:
            stats.invalid += 1
        self.attempts += 1
        self.digits = ""
        if self.attempts > node.retries:
            stats.exhausted += 1
            if node.on_exhausted:
                self._goto(node.on_exhausted, out)
            else:
                self._fallback(f"{node.id}: no valid input after {self.attempts} attempts", out)
            return
        extra = node.on_timeout if why == "timeout" else node.on_invalid
        self._play(extra + node.prompts, out, interruptible=True, phase="prompt")


# --- stored versions -------------------------------------------------------------------------

VERSION_ORIGINS = ("file", "upload", "rollback")


@dataclass(frozen=True, kw_only=True)
class ScriptVersion:
    """One stored version of a script: `number` counts 1, 2, 3... per script and is never
    reused; `label` is the free ``version:`` of the YAML; `origin` says where it came from
    ("file": read from ivr_scripts/, "upload", "rollback": a copy of version `rollback_of`)."""

    script: str
    number: int
    content: str
    checksum: str
    author: str
    created_at: datetime
    origin: str
    label: str = ""
    file: str = ""
    comment: str = ""
    rollback_of: int | None = None
    active: bool = False

    def summary(self) -> dict[str, Any]:
        """What a history lists (everything but the content)."""
        return {
            "script": self.script,
            "number": self.number,
            "label": self.label,
            "file": self.file,
            "checksum": self.checksum,
            "author": self.author,
            "comment": self.comment,
            "origin": self.origin,
            "rollback_of": self.rollback_of,
            "created_at": self.created_at.isoformat(),
            "active": self.active,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "content": self.content}


def content_checksum(text: str) -> str:
    """The checksum stored with a version: SHA-256 of its UTF-8 text (the loader's digest)."""
    return hashlib.sha256(text.encode()).hexdigest()


def unified_diff(old: ScriptVersion, new: ScriptVersion) -> str:
    """The unified diff (difflib) from version `old` to version `new` of a script."""
    lines = difflib.unified_diff(
        old.content.splitlines(keepends=True),
        new.content.splitlines(keepends=True),
        fromfile=f"{old.script} v{old.number}",
        tofile=f"{new.script} v{new.number}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
