"""Reading IVR scripts from YAML (keeping the line of every node and field) and validating them.

`parse_script(text, file)` turns the YAML into an `IvrScript` and records every structural error
(bad YAML, unknown node type, missing or unknown field, wrong type, bad DTMF key, bad regex,
duplicate key...) in `script.parse_issues` instead of stopping at the first one.
`validate_script(script, context)` adds the semantic errors (unknown or unreachable node, loop
without exit, missing prompt file, unknown queue or skill, unknown variable) and returns them all,
sorted by line. A script with any issue is never activated (see `registry.IvrRegistry`).

The format is described in ``ivr_scripts/README.md``.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import phonenumbers
import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.nodes import Node as YamlNode

from ccserver.core.errors import InvalidInput
from ccserver.core.text import Text

from .model import (
    _TEMPLATE_RE,
    BUILTIN_VARIABLES,
    DTMF_KEYS,
    NODE_TYPES,
    PROMPT_KINDS,
    VALIDATORS,
    BrokenNode,
    CallbackNode,
    CollectNode,
    DialplanTarget,
    GotoNode,
    HangupNode,
    HoursNode,
    IvrScript,
    LookupNode,
    MenuChoice,
    MenuNode,
    Node,
    PlayNode,
    QueueNode,
    Ranges,
    SetNode,
    TransferNode,
    ValidationIssue,
    VoicemailNode,
)

INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"

NODE_ID_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LANGUAGE_RE = re.compile(r"[a-z]{2}(_[A-Z]{2})?")
QUEUE_RE = re.compile(r"[A-Za-z0-9_.-]+")
MAILBOX_RE = re.compile(r"[A-Za-z0-9_-]+(@[A-Za-z0-9_-]+)?")
DID_RE = re.compile(r"\+?[0-9]{2,20}")
EXTEN_RE = re.compile(r"[0-9*#+]{1,20}")
CONTEXT_RE = re.compile(r"[A-Za-z0-9_.-]+")
SOUND_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
SOUND_EXTENSIONS = (".wav", ".gsm", ".ulaw", ".alaw", ".sln", ".sln16", ".g722", ".g729", ".mp3", ".wav16", ".ogg")
_VAR = r"\{[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?\}"
PROMPT_VALUE_RE = {
    "digits": re.compile(rf"([0-9*#]+|{_VAR})"),
    "number": re.compile(rf"(-?[0-9]+|{_VAR})"),
    "characters": re.compile(rf"([A-Za-z0-9]+|{_VAR})"),
}
DAYS = {
    "mon": 0,
    "monday": 0,
    "lun": 0,
    "lundi": 0,
    "tue": 1,
    "tuesday": 1,
    "mar": 1,
    "mardi": 1,
    "wed": 2,
    "wednesday": 2,
    "mer": 2,
    "mercredi": 2,
    "thu": 3,
    "thursday": 3,
    "jeu": 3,
    "jeudi": 3,
    "fri": 4,
    "friday": 4,
    "ven": 4,
    "vendredi": 4,
    "sat": 5,
    "saturday": 5,
    "sam": 5,
    "samedi": 5,
    "sun": 6,
    "sunday": 6,
    "dim": 6,
    "dimanche": 6,
}
TIME_RANGE_RE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")

_COMMON = ("type", "description")


@dataclass(frozen=True)
class ValidationContext:
    """What the validator checks references against. None means: not checked."""

    queues: frozenset[str] | None = None
    skills: frozenset[str] | None = None
    # media URI ("sound:custom/bienvenue", "recording:annonce") -> does the file exist?
    prompt_exists: Callable[[str], bool] | None = None
    # the languages Asterisk has sounds for (sounds/<language>): a script's and a set node's
    languages: frozenset[str] | None = None


def prompt_checker(
    sound_dirs: Iterable[str | Path], recording_dirs: Iterable[str | Path] = ()
) -> Callable[[str], bool]:
    """A `prompt_exists` looking for ``sound:NAME`` in the sound directories (also in their
    language sub-directories: ``fr/NAME.wav``) and ``recording:NAME`` in the recording ones,
    with any audio file extension."""
    sounds = [Path(d) for d in sound_dirs]
    recordings = [Path(d) for d in recording_dirs]

    def found(base: Path, name: str) -> bool:
        candidates = [base] + [p for p in base.iterdir() if p.is_dir() and len(p.name) <= 5] if base.is_dir() else []
        for directory in candidates:
            stem = directory / name
            if stem.parent.is_dir() and any(
                p.is_file() and p.name.startswith(stem.name + ".") for p in stem.parent.iterdir()
            ):
                return True
        return False

    def exists(media: str) -> bool:
        kind, _, name = media.partition(":")
        dirs = sounds if kind == "sound" else recordings if kind == "recording" else None
        if dirs is None:
            return True
        return any(found(d, name) for d in dirs)

    return exists


def normalize_did(did: str) -> str:
    """A number as Asterisk may show it (``0140000000``, ``+33140000000``, ``33140000000``)
    in E.164 when it is a valid French or international number, else unchanged."""
    raw = did.strip()
    for candidate in (raw, "+" + raw if raw.isdigit() and not raw.startswith("0") else None):
        if not candidate:
            continue
        try:
            number = phonenumbers.parse(candidate, "FR")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return raw


def external_number(raw: str) -> str | None:
    """E.164 form of an external number written ``+33123456789`` or ``0123456789``."""
    if not re.fullmatch(r"\+?[0-9][0-9 .]{2,24}", raw.strip()):
        return None
    try:
        number = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- reading YAML with lines ---------------------------------------------------------------


def _line(node: YamlNode) -> int:
    return node.start_mark.line + 1


def _is_null(node: YamlNode) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


class _Reader:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.loader = yaml.SafeLoader(text)
        self.issues: list[ValidationIssue] = []

    def error(self, line: int, node_id: str | None, message: str) -> None:
        self.issues.append(ValidationIssue(self.file, line, node_id, message))

    def value(self, node: YamlNode) -> Any:
        return self.loader.construct_object(node, deep=True)


class _Fields:
    """A YAML mapping read field by field: every error names the field and its line."""

    def __init__(self, reader: _Reader, node: MappingNode, node_id: str | None, what: str):
        self.r = reader
        self.node_id = node_id
        self.what = what
        self.line = _line(node)
        self.pairs: dict[str, tuple[YamlNode, YamlNode]] = {}
        self.lines: dict[str, int] = {}
        self.used: set[str] = set()
        for key, value in node.value:
            if not isinstance(key, ScalarNode) or _is_null(key):
                self.err(_line(key), Text("keys must be plain names"))
                continue
            name = key.value
            if name in self.pairs:
                self.err(
                    _line(key),
                    Text(
                        "duplicate key %(name)r (first at line %(value)s)", name=name, value=_line(self.pairs[name][0])
                    ),
                )
                continue
            self.pairs[name] = (key, value)
            self.lines[name] = _line(key)

    def err(self, line: int, message: str) -> None:
        self.r.error(line, self.node_id, message)

    def has(self, name: str) -> bool:
        return name in self.pairs

    def get(self, name: str) -> YamlNode | None:
        self.used.add(name)
        pair = self.pairs.get(name)
        return pair[1] if pair else None

    def line_of(self, name: str) -> int:
        return self.lines.get(name, self.line)

    def _missing(self, name: str, required: bool) -> None:
        if required:
            self.err(self.line, Text("missing field '%(name)s' for %(what)s", name=name, what=self.what))

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        default: str | None = None,
        pattern: re.Pattern | None = None,
        hint: str = "",
    ) -> str | None:
        node = self.get(name)
        if node is None:
            self._missing(name, required)
            return default
        if _is_null(node):
            self.err(_line(node), Text("field '%(name)s' is empty", name=name))
            return default
        if not isinstance(node, ScalarNode):
            self.err(
                _line(node),
                Text(
                    "field '%(name)s' must be a text, not a %(value)s",
                    name=name,
                    value="list" if isinstance(node, SequenceNode) else "mapping",
                ),
            )
            return default
        value = node.value
        if pattern is not None and not pattern.fullmatch(value):
            self.err(
                _line(node),
                Text("field '%(name)s': %(value)r is not valid (%(hint)s)", name=name, value=value, hint=hint)
                if hint
                else Text("field '%(name)s': %(value)r is not valid", name=name, value=value),
            )
            return default
        return value

    def choice(
        self, name: str, allowed: Iterable[str], *, default: str | None = None, required: bool = False
    ) -> str | None:
        allowed = tuple(allowed)
        value = self.text(name, required=required, default=None)
        if value is None:
            return default
        if value not in allowed:
            self.err(
                self.line_of(name),
                Text(
                    "field '%(name)s': %(value)r is not one of %(value2)s",
                    name=name,
                    value=value,
                    value2=", ".join(allowed),
                ),
            )
            return default
        return value

    def number(
        self,
        name: str,
        *,
        default: float,
        minimum: float,
        maximum: float,
        integer: bool = False,
        required: bool = False,
    ) -> Any:
        node = self.get(name)
        if node is None:
            self._missing(name, required)
            return default
        tags = (INT_TAG,) if integer else (INT_TAG, FLOAT_TAG)
        if not isinstance(node, ScalarNode) or node.tag not in tags:
            kind = "a whole number" if integer else "a number"
            self.err(_line(node), Text("field '%(name)s' must be %(kind)s", name=name, kind=kind))
            return default
        value = self.r.value(node)
        if not minimum <= value <= maximum:
            self.err(
                _line(node),
                Text(
                    "field '%(name)s' must be between %(minimum)s and %(maximum)s",
                    name=name,
                    minimum=minimum,
                    maximum=maximum,
                ),
            )
            return default
        return value

    def boolean(self, name: str, *, default: bool) -> bool:
        node = self.get(name)
        if node is None:
            return default
        if not isinstance(node, ScalarNode) or node.tag != BOOL_TAG:
            self.err(_line(node), Text("field '%(name)s' must be true or false", name=name))
            return default
        return bool(self.r.value(node))

    def ref(self, name: str, *, required: bool = False) -> str | None:
        return self.text(name, required=required, pattern=NODE_ID_RE, hint="not a node id")

    def mapping(self, name: str, *, required: bool = False) -> MappingNode | None:
        node = self.get(name)
        if node is None:
            self._missing(name, required)
            return None
        if not isinstance(node, MappingNode):
            self.err(_line(node), Text("field '%(name)s' must be a mapping (key: value lines)", name=name))
            return None
        return node

    def prompts(self, name: str, *, required: bool = False) -> tuple[str, ...]:
        node = self.get(name)
        if node is None:
            self._missing(name, required)
            return ()
        items: list[tuple[str, YamlNode]]
        if isinstance(node, ScalarNode) and not _is_null(node):
            items = [(name, node)]
        elif isinstance(node, SequenceNode) and node.value:
            items = [(f"{name}.{i}", item) for i, item in enumerate(node.value)]
        else:
            self.err(_line(node), Text("field '%(name)s' must be a prompt or a list of prompts", name=name))
            return ()
        out = []
        for key, item in items:
            self.lines[key] = _line(item)
            if not isinstance(item, ScalarNode) or _is_null(item):
                self.err(_line(item), Text("field '%(name)s': a prompt must be a text", name=name))
                continue
            media, problem = parse_prompt(item.value)
            if problem:
                self.err(_line(item), Text("field '%(name)s': %(problem)s", name=name, problem=problem))
            else:
                out.append(media)
        return tuple(out)

    def finish(self) -> None:
        for name, (key, _value) in self.pairs.items():
            if name not in self.used:
                self.err(_line(key), Text("unknown field '%(name)s' for %(what)s", name=name, what=self.what))


def parse_prompt(raw: str) -> tuple[str, str | None]:
    """(media URI, None) or ("", problem) for a prompt as written in a script."""
    raw = raw.strip()
    kind, sep, rest = raw.partition(":")
    if not sep:
        kind, rest = "sound", raw
    if kind not in PROMPT_KINDS:
        return "", Text(
            "unknown prompt kind %(kind)r in %(raw)r (expected %(kinds)s)",
            kind=kind,
            raw=raw,
            kinds=", ".join(f"{k}:" for k in PROMPT_KINDS),
        )
    if kind in ("sound", "recording"):
        if rest.lower().endswith(SOUND_EXTENSIONS):
            return "", Text("write the sound %(name)r without its file extension", name=rest)
        if not SOUND_RE.fullmatch(rest) or ".." in rest or rest.endswith("/"):
            return "", Text("bad sound name %(name)r (letters, digits, _ - . /)", name=rest)
    elif not PROMPT_VALUE_RE[kind].fullmatch(rest):
        return "", Text("bad %(kind)s prompt %(raw)r", kind=kind, raw=raw)
    return f"{kind}:{rest}", None


def _scalar_refs(node: YamlNode) -> list[str]:
    if isinstance(node, ScalarNode):
        return [node.value]
    if isinstance(node, SequenceNode):
        return [ref for item in node.value for ref in _scalar_refs(item)]
    if isinstance(node, MappingNode):
        return [ref for _k, value in node.value for ref in _scalar_refs(value)]
    return []


# --- nodes ---------------------------------------------------------------------------------


def _parse_node(r: _Reader, node_id: str, line: int, ynode: YamlNode, script_tz: str) -> Node:
    """Read one node; `line` is the line of its id (where its errors are reported)."""
    if not isinstance(ynode, MappingNode):
        r.error(line, node_id, Text("a node must be a mapping with a 'type'"))
        return BrokenNode(id=node_id, line=line)
    type_node = next((v for k, v in ynode.value if isinstance(k, ScalarNode) and k.value == "type"), None)
    node_type = type_node.value if isinstance(type_node, ScalarNode) else None
    if node_type not in NODE_TYPES:
        if type_node is None:
            r.error(line, node_id, Text("missing field 'type'"))
        else:
            r.error(
                _line(type_node),
                node_id,
                Text(
                    "unknown node type %(node_type)r (expected one of %(value)s)",
                    node_type=node_type,
                    value=", ".join(NODE_TYPES),
                ),
            )
        refs = tuple(ref for _k, v in ynode.value for ref in _scalar_refs(v))
        return BrokenNode(id=node_id, line=line, refs=refs)
    f = _Fields(r, ynode, node_id, Text("a %(type)s node", type=node_type))
    f.line = line
    f.get("type")
    f.get("description")
    common = {"id": node_id, "line": line, "lines": f.lines}
    node = _PARSERS[node_type](r, f, common, script_tz)
    f.finish()
    return node


def _parse_play(r, f: _Fields, common, tz) -> Node:
    return PlayNode(
        **common,
        prompts=f.prompts("prompt", required=True),
        next=f.ref("next", required=True),
        interruptible=f.boolean("interruptible", default=False),
    )


def _retry_fields(f: _Fields) -> dict[str, Any]:
    return {
        "timeout": f.number("timeout", default=5.0, minimum=0.5, maximum=120),
        "retries": f.number("retries", default=2, minimum=0, maximum=10, integer=True),
        "on_timeout": f.prompts("on_timeout"),
        "on_invalid": f.prompts("on_invalid"),
        "on_exhausted": f.ref("on_exhausted"),
    }


def _parse_menu(r: _Reader, f: _Fields, common, tz) -> Node:
    prompts = f.prompts("prompt", required=True)
    choices: list[MenuChoice] = []
    mapping = f.mapping("choices", required=True)
    if mapping is not None:
        if not mapping.value:
            f.err(_line(mapping), Text("field 'choices' is empty"))
        seen: dict[str, int] = {}
        for key_node, value in mapping.value:
            line = _line(key_node)
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if key is None or key not in DTMF_KEYS:
                f.err(line, Text('bad DTMF key %(key)r in \'choices\' (one of 0-9, "*", "#"; quote * and #)', key=key))
                continue
            if key in seen:
                f.err(
                    line,
                    Text("duplicate DTMF key %(key)r in 'choices' (first at line %(seen)s)", key=key, seen=seen[key]),
                )
                continue
            seen[key] = line
            f.lines[f"choices.{key}"] = line
            target, label = None, ""
            if isinstance(value, ScalarNode) and not _is_null(value):
                target = value.value
            elif isinstance(value, MappingNode):
                sub = _Fields(r, value, f.node_id, Text("choice %(key)r", key=key))
                target = sub.ref("next", required=True)
                label = sub.text("label", default="") or ""
                sub.finish()
            else:
                f.err(line, Text("choice %(key)r must name a node, or be a mapping with 'next' and 'label'", key=key))
                continue
            if target is None:
                continue
            if not NODE_ID_RE.fullmatch(target):
                f.err(line, Text("choice %(key)r: %(target)r is not a node id", key=key, target=target))
                continue
            choices.append(MenuChoice(key, target, label))
    return MenuNode(**common, prompts=prompts, choices=tuple(choices), **_retry_fields(f))


def _parse_collect(r: _Reader, f: _Fields, common, tz) -> Node:
    prompts = f.prompts("prompt", required=True)
    default_store = common["id"].replace("-", "_").replace(".", "_")
    store_as = f.text("store_as", default=default_store, pattern=IDENT_RE, hint="a variable name: letters, digits, _")
    pattern = f.text("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            f.err(f.line_of("pattern"), Text("bad regex %(pattern)r: %(exc)s", pattern=pattern, exc=exc))
            pattern = None
    validate = f.choice("validate", VALIDATORS, default="regex" if pattern else "digits")
    if validate == "regex" and pattern is None and not f.has("pattern"):
        f.err(f.line_of("validate"), Text("validate: regex needs a 'pattern'"))
    fixed = 8 if validate in ("customer_number", "date") else None
    min_digits = f.number("min_digits", default=fixed or 1, minimum=1, maximum=32, integer=True)
    max_digits = f.number("max_digits", default=fixed or 20, minimum=1, maximum=32, integer=True)
    if min_digits > max_digits:
        f.err(f.line_of("max_digits"), Text("max_digits is smaller than min_digits"))
    if validate == "date" and (min_digits, max_digits) != (8, 8):
        f.err(f.line_of("max_digits"), Text("a date is typed as 8 digits (DDMMYYYY)"))
    checksum = f.choice("checksum", ("luhn",))
    if checksum and validate != "customer_number":
        f.err(f.line_of("checksum"), Text("checksum only applies to validate: customer_number"))
    terminator: str | None = "#"
    term_node = f.get("terminator")
    if term_node is not None:
        if _is_null(term_node):
            f.err(
                _line(term_node),
                Text(
                    "field 'terminator' is empty (write \"#\" in quotes: YAML reads an unquoted # as a comment; 'none' for no terminator)"
                ),
            )
        elif not isinstance(term_node, ScalarNode) or term_node.value not in ("#", "*", "none"):
            f.err(_line(term_node), Text('field \'terminator\' must be "#", "*" or none'))
        else:
            terminator = None if term_node.value == "none" else term_node.value
    retry = _retry_fields(f)
    return CollectNode(
        **common,
        prompts=prompts,
        store_as=store_as or default_store,
        min_digits=min_digits,
        max_digits=max_digits,
        terminator=terminator,
        digit_timeout=f.number("digit_timeout", default=3.0, minimum=0.5, maximum=60),
        validate=validate or "digits",
        pattern=pattern,
        checksum=checksum,
        next=f.ref("next", required=True),
        **retry,
    )


def _parse_days(spec: str) -> list[int] | None:
    days: list[int] = []
    for part in spec.lower().replace(" ", "").split(","):
        first, sep, last = part.partition("-")
        if first not in DAYS or (sep and last not in DAYS):
            return None
        a, b = DAYS[first], DAYS[last] if sep else DAYS[first]
        day = a
        while True:
            days.append(day)
            if day == b:
                break
            day = (day + 1) % 7
    return days


def _parse_ranges(f: _Fields, node: YamlNode, what: str) -> Ranges | None:
    if isinstance(node, ScalarNode) and not _is_null(node):
        texts = [(t.strip(), _line(node)) for t in node.value.split(",")]
    elif isinstance(node, SequenceNode):
        texts = []
        for item in node.value:
            if not isinstance(item, ScalarNode) or _is_null(item):
                f.err(_line(item), Text('%(what)s: a time range must be a text like "08:30-12:30"', what=what))
                return None
            texts.append((item.value.strip(), _line(item)))
    else:
        f.err(_line(node), Text('%(what)s: expected time ranges like "08:30-12:30", or closed', what=what))
        return None
    ranges = []
    for text, line in texts:
        if text.lower() in ("closed", "ferme", "fermé", ""):
            continue
        match = TIME_RANGE_RE.fullmatch(text)
        if not match:
            f.err(line, Text("%(what)s: bad time range %(text)r (expected HH:MM-HH:MM)", what=what, text=text))
            return None
        h1, m1, h2, m2 = (int(x) for x in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or start >= end:
            f.err(
                line,
                Text(
                    "%(what)s: bad time range %(text)r (start must be before end, within 00:00-24:00)",
                    what=what,
                    text=text,
                ),
            )
            return None
        ranges.append((start, end))
    return tuple(sorted(ranges))


def _parse_date(f: _Fields, text: str, line: int, what: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        f.err(line, Text("%(what)s: bad date %(text)r (expected YYYY-MM-DD)", what=what, text=text))
        return None


def _parse_hours(r: _Reader, f: _Fields, common, script_tz) -> Node:
    timezone = f.text("timezone", default=script_tz) or script_tz
    try:
        ZoneInfo(timezone)
    except Exception:
        f.err(f.line_of("timezone"), Text("unknown time zone %(timezone)r", timezone=timezone))
        timezone = "Europe/Paris"
    schedule: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    mapping = f.mapping("schedule", required=True)
    if mapping is not None:
        for key_node, value in mapping.value:
            spec = key_node.value if isinstance(key_node, ScalarNode) else ""
            days = _parse_days(str(spec))
            if days is None:
                f.err(
                    _line(key_node),
                    Text("schedule: bad days %(spec)r (e.g. mon-fri, sat, lun-ven, mon,wed)", spec=spec),
                )
                continue
            ranges = _parse_ranges(f, value, Text("schedule %(days)s", days=spec))
            for day in days:
                schedule[day].extend(ranges or ())
    country: str | None = "FR"
    hol_node = f.get("holidays")
    if hol_node is not None:
        if isinstance(hol_node, ScalarNode) and hol_node.tag == BOOL_TAG:
            country = "FR" if r.value(hol_node) else None
        elif isinstance(hol_node, ScalarNode) and not _is_null(hol_node):
            country = hol_node.value.upper()
        else:
            f.err(_line(hol_node), Text("field 'holidays' must be a country code (FR) or false"))
    subdiv = f.text("holidays_subdiv")
    if country:
        try:
            holidays_lib.country_holidays(country, subdiv=subdiv, years=2026)
        except Exception as exc:
            f.err(
                f.line_of("holidays_subdiv" if subdiv else "holidays"),
                Text(
                    "unknown holidays calendar %(country)r subdivision %(subdiv)r: %(error)s",
                    country=country,
                    subdiv=subdiv,
                    error=str(exc),
                )
                if subdiv
                else Text("unknown holidays calendar %(country)r: %(error)s", country=country, error=str(exc)),
            )
            country = None
    closed: list[tuple[date, date]] = []
    closed_node = f.get("closed_dates")
    if closed_node is not None:
        if not isinstance(closed_node, SequenceNode):
            f.err(
                _line(closed_node),
                Text("field 'closed_dates' must be a list of dates (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)"),
            )
        else:
            for item in closed_node.value:
                if not isinstance(item, ScalarNode) or _is_null(item):
                    f.err(_line(item), Text("closed_dates: a date must be a text"))
                    continue
                first_text, sep, last_text = item.value.partition("..")
                first = _parse_date(f, first_text, _line(item), "closed_dates")
                last = _parse_date(f, last_text, _line(item), "closed_dates") if sep else first
                if first and last:
                    if last < first:
                        f.err(_line(item), Text("closed_dates: %(value)r ends before it starts", value=item.value))
                    else:
                        closed.append((first, last))
    special: dict[date, Ranges] = {}
    special_node = f.mapping("special_days")
    if special_node is not None:
        for key_node, value in special_node.value:
            text = key_node.value if isinstance(key_node, ScalarNode) else ""
            day = _parse_date(f, str(text), _line(key_node), "special_days")
            if day is None:
                continue
            if day in special:
                f.err(_line(key_node), Text("special_days: %(text)r is given twice", text=text))
                continue
            ranges = _parse_ranges(f, value, Text("special_days %(day)s", day=text))
            if ranges is not None:
                special[day] = ranges
    return HoursNode(
        **common,
        timezone=timezone,
        schedule=tuple(tuple(sorted(day)) for day in schedule),
        holidays_country=country,
        holidays_subdiv=subdiv,
        closed_dates=tuple(closed),
        special_days=special,
        open=f.ref("open", required=True),
        closed=f.ref("closed", required=True),
        holiday=f.ref("holiday"),
    )


def _source_fields(f: _Fields) -> tuple[str, str | None]:
    source = f.choice("from", ("caller_number", "collected"), default="caller_number")
    variable = f.text("variable", pattern=IDENT_RE, hint="a variable name")
    if source == "collected" and variable is None and not f.has("variable"):
        f.err(f.line_of("from"), Text("from: collected needs a 'variable' (the collect node's store_as)"))
    if source == "caller_number" and f.has("variable"):
        f.err(f.line_of("variable"), Text("'variable' is only used with from: collected"))
    return source or "caller_number", variable


def _parse_lookup(r, f: _Fields, common, tz) -> Node:
    source, variable = _source_fields(f)
    return LookupNode(
        **common,
        source=source,
        variable=variable,
        timeout=f.number("timeout", default=3.0, minimum=0.5, maximum=30),
        found=f.ref("found", required=True),
        not_found=f.ref("not_found", required=True),
        on_error=f.ref("on_error"),
    )


def _parse_set(r: _Reader, f: _Fields, common, tz) -> Node:
    data: list[tuple[str, str]] = []
    mapping = f.mapping("data")
    if mapping is not None:
        seen: set[str] = set()
        for key_node, value in mapping.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else ""
            line = _line(key_node)
            if not IDENT_RE.fullmatch(str(key)):
                f.err(line, Text("data: bad key %(key)r (letters, digits, _)", key=key))
                continue
            if key in seen:
                f.err(line, Text("data: duplicate key %(key)r", key=key))
                continue
            seen.add(key)
            f.lines[f"data.{key}"] = line
            if not isinstance(value, ScalarNode):
                f.err(line, Text("data: value of %(key)r must be a text or a number", key=key))
                continue
            data.append((key, "" if _is_null(value) else value.value))
    language = f.text("language", pattern=LANGUAGE_RE, hint="a language code like fr or en")
    if not data and language is None and not f.has("language") and mapping is None:
        f.err(f.line, Text("a set node needs 'data' or 'language'"))
    return SetNode(**common, data=tuple(data), language=language, next=f.ref("next", required=True))


def _parse_queue(r: _Reader, f: _Fields, common, tz) -> Node:
    skills: list[tuple[str, int]] = []
    mapping = f.mapping("skills")
    if mapping is not None:
        seen: set[str] = set()
        for key_node, value in mapping.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else ""
            line = _line(key_node)
            if not QUEUE_RE.fullmatch(str(key)):
                f.err(line, Text("skills: bad skill name %(key)r", key=key))
                continue
            if key in seen:
                f.err(line, Text("skills: duplicate skill %(key)r", key=key))
                continue
            seen.add(key)
            f.lines[f"skills.{key}"] = line
            if not isinstance(value, ScalarNode) or value.tag != INT_TAG or not 0 <= r.value(value) <= 100:
                f.err(line, Text("skills: level of %(key)r must be a whole number from 0 to 100", key=key))
                continue
            skills.append((key, r.value(value)))
    return QueueNode(
        **common,
        queue=f.text("queue", required=True, pattern=QUEUE_RE, hint="a queue name") or "",
        skills=tuple(skills),
        priority=f.number("priority", default=0, minimum=0, maximum=1000, integer=True),
        prompts=f.prompts("prompt"),
    )


def _parse_voicemail(r, f: _Fields, common, tz) -> Node:
    return VoicemailNode(
        **common,
        mailbox=f.text("mailbox", required=True, pattern=MAILBOX_RE, hint="a mailbox like 100 or 100@default") or "",
        prompts=f.prompts("prompt"),
    )


def _parse_callback(r, f: _Fields, common, tz) -> Node:
    source, variable = _source_fields(f)
    return CallbackNode(
        **common,
        source=source,
        variable=variable,
        queue=f.text("queue", pattern=QUEUE_RE, hint="a queue name"),
        prompts=f.prompts("prompt"),
        next=f.ref("next"),
        on_error=f.ref("on_error"),
    )


def _parse_transfer(r, f: _Fields, common, tz) -> Node:
    raw = f.text("number", required=True)
    number = ""
    if raw is not None:
        number = external_number(raw) or ""
        if not number:
            f.err(
                f.line_of("number"),
                Text(
                    "field 'number': %(raw)r is not a valid phone number (E.164 like +33123456789, or French like 0123456789)",
                    raw=raw,
                ),
            )
    return TransferNode(**common, number=number, prompts=f.prompts("prompt"))


def _parse_hangup(r, f: _Fields, common, tz) -> Node:
    return HangupNode(**common, prompts=f.prompts("prompt"))


def _parse_goto(r, f: _Fields, common, tz) -> Node:
    return GotoNode(**common, next=f.ref("next", required=True))


_PARSERS: dict[str, Callable[..., Node]] = {
    "play": _parse_play,
    "menu": _parse_menu,
    "collect": _parse_collect,
    "hours": _parse_hours,
    "lookup": _parse_lookup,
    "set": _parse_set,
    "queue": _parse_queue,
    "voicemail": _parse_voicemail,
    "callback": _parse_callback,
    "transfer": _parse_transfer,
    "hangup": _parse_hangup,
    "goto": _parse_goto,
}


# --- scripts -------------------------------------------------------------------------------


def parse_script(text: str, file: str = "<string>") -> IvrScript:
    """Read a script. Never raises for the content: errors are in `script.parse_issues`."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    r = _Reader(file, text)
    try:
        root = r.loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        r.error(mark.line + 1 if mark else 1, None, Text("not valid YAML: %(problem)s", problem=problem))
        return IvrScript(name="", file=file, digest=digest, parse_issues=tuple(r.issues))
    finally:
        r.loader.dispose()
    if not isinstance(root, MappingNode):
        r.error(_line(root) if root is not None else 1, None, Text("a script is a mapping with 'script' and 'nodes'"))
        return IvrScript(name="", file=file, digest=digest, parse_issues=tuple(r.issues))
    top = _Fields(r, root, None, Text("a script file"))
    header = top.mapping("script", required=True)
    nodes_map = top.mapping("nodes", required=True)
    top.finish()

    meta: dict[str, Any] = {}
    lines: dict[str, int] = {}
    line = 1
    if header is not None:
        h = _Fields(r, header, None, Text("the script header"))
        line = h.line = top.line_of("script")
        meta["name"] = h.text("name", required=True, pattern=NAME_RE, hint="letters, digits, _ - .") or ""
        meta["version"] = h.text("version", default="1") or "1"
        meta["description"] = h.text("description", default="") or ""
        meta["entry"] = h.ref("entry", required=True)
        meta["language"] = (
            h.text("language", default="fr", pattern=LANGUAGE_RE, hint="a language code like fr or en") or "fr"
        )
        tz = h.text("timezone", default="Europe/Paris") or "Europe/Paris"
        try:
            ZoneInfo(tz)
        except Exception:
            h.err(h.line_of("timezone"), Text("unknown time zone %(tz)r", tz=tz))
            tz = "Europe/Paris"
        meta["timezone"] = tz
        fb = h.get("fallback")
        if fb is None:
            pass
        elif isinstance(fb, ScalarNode) and not _is_null(fb):
            if NODE_ID_RE.fullmatch(fb.value):
                meta["fallback_node"] = fb.value
            else:
                h.err(_line(fb), Text("fallback: %(value)r is not a node id", value=fb.value))
        elif isinstance(fb, MappingNode):
            d = _Fields(r, fb, None, Text("the fallback"))
            context = d.text("context", required=True, pattern=CONTEXT_RE, hint="a dialplan context")
            exten = (
                d.text("exten", default="s", pattern=re.compile(r"[A-Za-z0-9*#+_.-]+"), hint="a dialplan extension")
                or "s"
            )
            priority = d.number("priority", default=1, minimum=1, maximum=10_000, integer=True)
            d.finish()
            if context:
                meta["fallback_dialplan"] = DialplanTarget(context, exten, priority)
        else:
            h.err(_line(fb), Text("fallback must be a node id or {context, exten, priority}"))
        routes = h.mapping("routes")
        if routes is not None:
            rf = _Fields(r, routes, None, "routes")
            for name, pattern, hint in (
                ("dids", DID_RE, "a number: digits, optional +"),
                ("extensions", EXTEN_RE, "digits, * # +"),
            ):
                values: list[str] = []
                node = rf.get(name)
                if node is None:
                    meta[name] = ()
                    continue
                items = node.value if isinstance(node, SequenceNode) else [node]
                for item in items:
                    if (
                        not isinstance(item, ScalarNode)
                        or _is_null(item)
                        or not pattern.fullmatch(item.value.replace(" ", ""))
                    ):
                        rf.err(
                            _line(item),
                            Text(
                                "routes: bad %(name)s %(value)r (%(hint)s)",
                                name=name[:-1],
                                value=getattr(item, "value", ""),
                                hint=hint,
                            ),
                        )
                        continue
                    value = item.value.replace(" ", "")
                    if value in values:
                        rf.err(_line(item), Text("routes: %(value)r is listed twice", value=value))
                        continue
                    values.append(value)
                    lines[f"{name}.{value}"] = _line(item)
                meta[name] = tuple(values)
            rf.finish()
        lines.update(dict(h.lines.items()))
        h.finish()
    else:
        meta.setdefault("name", "")

    nodes: dict[str, Node] = {}
    if nodes_map is not None:
        if not nodes_map.value:
            r.error(_line(nodes_map), None, Text("'nodes' is empty"))
        seen: dict[str, int] = {}
        for key_node, value in nodes_map.value:
            node_id = key_node.value if isinstance(key_node, ScalarNode) else None
            kline = _line(key_node)
            if node_id is None or not NODE_ID_RE.fullmatch(node_id):
                r.error(kline, None, Text("bad node id %(node_id)r (letters, digits, _ - .)", node_id=node_id))
                continue
            if node_id in seen:
                r.error(kline, node_id, Text("duplicate node id (first at line %(seen)s)", seen=seen[node_id]))
                continue
            seen[node_id] = kline
            nodes[node_id] = _parse_node(r, node_id, kline, value, meta.get("timezone", "Europe/Paris"))
    return IvrScript(
        nodes=nodes, file=file, line=line, lines=lines, digest=digest, parse_issues=tuple(r.issues), **meta
    )


# --- semantic validation -------------------------------------------------------------------


def _sccs(nodes: Iterable[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for succ in it:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(edges.get(succ, ()))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
    return result


def _cycle(start: str, members: set[str], edges: dict[str, list[str]]) -> list[str]:
    """A shortest path start -> ... -> start inside `members` (BFS)."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for succ in edges.get(node, ()):
            if succ not in members:
                continue
            if succ == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])  # type: ignore[arg-type]
                return list(reversed(path)) + [start]
            if succ not in previous:
                previous[succ] = node
                queue.append(succ)
    return [start, start]


def validate_script(script: IvrScript, context: ValidationContext | None = None) -> list[ValidationIssue]:
    """Every error of the script (parse errors included), sorted by line."""
    ctx = context or ValidationContext()
    issues = list(script.parse_issues)
    file = script.file

    def err(line: int, node: str | None, message: str) -> None:
        issues.append(ValidationIssue(file, line, node, message))

    nodes = script.nodes
    if not nodes:
        return _sorted(issues)
    order = {node_id: i for i, node_id in enumerate(nodes)}

    # references
    for node in nodes.values():
        if isinstance(node, BrokenNode):
            continue
        for field_name, target in node.successors():
            if target not in nodes:
                err(
                    node.line_of(field_name),
                    node.id,
                    Text("unknown node %(target)r in '%(field_name)s'", target=target, field_name=field_name),
                )
    if script.entry and script.entry not in nodes:
        err(script.line_of("entry"), None, Text("entry: unknown node %(entry)r", entry=script.entry))
    if script.fallback_node and script.fallback_node not in nodes:
        err(
            script.line_of("fallback"),
            None,
            Text("fallback: unknown node %(fallback_node)r", fallback_node=script.fallback_node),
        )

    edges = {node_id: [t for _f, t in node.successors() if t in nodes] for node_id, node in nodes.items()}

    # reachability
    roots = [n for n in (script.entry, script.fallback_node) if n in nodes]
    reachable: set[str] = set()
    queue = deque(roots)
    while queue:
        node_id = queue.popleft()
        if node_id in reachable:
            continue
        reachable.add(node_id)
        queue.extend(edges[node_id])
    if roots:
        for node in nodes.values():
            if node.id not in reachable:
                err(
                    node.line,
                    node.id,
                    Text(
                        "unreachable node: no path leads here from the entry %(entry)r or the fallback",
                        entry=script.entry,
                    )
                    if script.fallback_node
                    else Text("unreachable node: no path leads here from the entry %(entry)r", entry=script.entry),
                )

    # loops without exit: nodes that can never reach a terminal node (or the fallback)
    exits = {
        node.id
        for node in nodes.values()
        if node.terminal
        or node.implicit_exit()
        or any(t not in nodes for _f, t in node.successors())
        or not node.successors()
    }
    reverse: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    for source, targets in edges.items():
        for target in targets:
            reverse[target].append(source)
    can_exit: set[str] = set()
    queue = deque(exits)
    while queue:
        node_id = queue.popleft()
        if node_id in can_exit:
            continue
        can_exit.add(node_id)
        queue.extend(reverse[node_id])
    stuck = [n for n in nodes if n in reachable and n not in can_exit]
    reported: set[str] = set()
    stuck_edges = {n: [t for t in edges[n] if t in stuck] for n in stuck}
    for component in _sccs(stuck, stuck_edges):
        if len(component) == 1 and component[0] not in stuck_edges[component[0]]:
            continue
        first = min(component, key=order.__getitem__)
        path = _cycle(first, set(component), stuck_edges)
        reported.update(component)
        err(
            nodes[first].line,
            first,
            "loop without exit: " + " -> ".join(path) + " (no node of it leads to a queue, "
            "voicemail, transfer, hangup or the fallback)",
        )

    # loops that never wait for the caller (goto/set/hours only)
    instant = [n for n in nodes if nodes[n].immediate and n in reachable and n not in reported]
    instant_set = set(instant)
    instant_edges = {n: [t for t in edges[n] if t in instant_set] for n in instant}
    for component in _sccs(instant, instant_edges):
        if len(component) == 1 and component[0] not in instant_edges[component[0]]:
            continue
        first = min(component, key=order.__getitem__)
        path = _cycle(first, set(component), instant_edges)
        err(
            nodes[first].line,
            first,
            "loop without pause: " + " -> ".join(path) + " would run forever without waiting for the caller",
        )

    # variables
    collected = {n.store_as for n in nodes.values() if isinstance(n, CollectNode)}
    set_keys = {key for n in nodes.values() if isinstance(n, SetNode) for key, _v in n.data}
    known = collected | set_keys | BUILTIN_VARIABLES
    has_lookup = any(isinstance(n, LookupNode) for n in nodes.values())

    def check_template(node: Node, key: str, text: str) -> None:
        for match in _TEMPLATE_RE.finditer(text):
            name = match.group(1)
            if name.startswith("customer."):
                if not has_lookup:
                    err(
                        node.line_of(key),
                        node.id,
                        Text("variable {%(name)s}: the script has no lookup node", name=name),
                    )
            elif name not in known:
                err(
                    node.line_of(key),
                    node.id,
                    Text("unknown variable {%(name)s} (no collect node stores it, no set node sets it)", name=name),
                )

    for node in nodes.values():
        if (
            isinstance(node, (LookupNode, CallbackNode))
            and node.source == "collected"
            and node.variable
            and node.variable not in collected
        ):
            err(node.line_of("variable"), node.id, Text("no collect node stores %(variable)r", variable=node.variable))
        if isinstance(node, SetNode):
            for key, value in node.data:
                check_template(node, f"data.{key}", value)
        for field_name, prompts in node.prompt_fields():
            for i, media in enumerate(prompts):
                key = f"{field_name}.{i}"
                if key not in node.lines:
                    key = field_name
                check_template(node, key, media)
                kind, _, name = media.partition(":")
                if kind in ("sound", "recording") and ctx.prompt_exists is not None and not ctx.prompt_exists(media):
                    err(
                        node.line_of(key),
                        node.id,
                        Text("missing prompt file %(name)r (stored recording)", name=name)
                        if kind == "recording"
                        else Text("missing prompt file %(name)r", name=name),
                    )

    # languages: the script's (when it declares one) and the set nodes' must be installed
    def check_language(line: int, node: str | None, field_name: str, language: str | None) -> None:
        if language and ctx.languages is not None and language not in ctx.languages:
            installed = ", ".join(sorted(ctx.languages)) or Text("none")
            err(
                line,
                node,
                Text(
                    "%(field_name)s: Asterisk has no sounds in %(language)r (installed: %(installed)s)",
                    field_name=field_name,
                    language=language,
                    installed=installed,
                ),
            )

    if "language" in script.lines:
        check_language(script.line_of("language"), None, "language", script.language)
    for node in nodes.values():
        if isinstance(node, SetNode):
            check_language(node.line_of("language"), node.id, "language", node.language)

    # queues and skills
    for node in nodes.values():
        queue_name = getattr(node, "queue", None) if isinstance(node, (QueueNode, CallbackNode)) else None
        if queue_name and ctx.queues is not None and queue_name not in ctx.queues:
            err(
                node.line_of("queue"),
                node.id,
                Text("unknown queue %(name)r%(known)s", name=queue_name, known=_known(ctx.queues)),
            )
        if isinstance(node, QueueNode) and ctx.skills is not None:
            for skill, _level in node.skills:
                if skill not in ctx.skills:
                    err(
                        node.line_of(f"skills.{skill}"),
                        node.id,
                        Text("unknown skill %(name)r%(known)s", name=skill, known=_known(ctx.skills)),
                    )
    return _sorted(issues)


def _known(names: Iterable[str]) -> Text:
    names = sorted(names)
    if not names:
        return Text(" (no queue or skill is defined)")
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return Text(" (known: %(names)s)", names=shown)


def _sorted(issues: list[ValidationIssue]) -> list[ValidationIssue]:
    unique = list(dict.fromkeys(issues))
    return sorted(unique, key=lambda i: (i.file, i.line))


def check_routes(scripts: Iterable[IvrScript]) -> list[ValidationIssue]:
    """A DID or an extension may map to one script only."""
    issues: list[ValidationIssue] = []
    owners: dict[tuple[str, str], IvrScript] = {}
    for script in scripts:
        for kind, values in (("dids", script.dids), ("extensions", script.extensions)):
            for value in values:
                key = (kind, normalize_did(value) if kind == "dids" else value)
                other = owners.get(key)
                if other is not None and other.name != script.name:
                    issues.append(
                        ValidationIssue(
                            script.file,
                            script.line_of(f"{kind}.{value}"),
                            None,
                            Text(
                                "routes: %(value)r already maps to script %(name)r (%(file)s)",
                                value=value,
                                name=other.name,
                                file=other.file,
                            ),
                        )
                    )
                else:
                    owners[key] = script
    return issues


# --- files ---------------------------------------------------------------------------------


def read_script(path: str | Path) -> IvrScript:
    """Parse a file; a file that cannot be read gives a script with that error."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        issue = ValidationIssue(file, 1, None, Text("cannot read the file: %(error)s", error=str(exc)))
        return IvrScript(name="", file=file, parse_issues=(issue,))
    return parse_script(text, file)


def check_files(
    paths: Iterable[str | Path], context: ValidationContext | None = None
) -> tuple[list[IvrScript], list[ValidationIssue]]:
    """Read and validate files (directories: their *.yaml / *.yml), routes across them
    included. Returns the scripts read and every issue."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            files.append(path)
    scripts: list[IvrScript] = []
    issues: list[ValidationIssue] = []
    for file in files:
        script = read_script(file)
        scripts.append(script)
        issues.extend(validate_script(script, context))
    names: dict[str, IvrScript] = {}
    for script in scripts:
        if script.name and script.name in names:
            issues.append(
                ValidationIssue(
                    script.file,
                    script.line_of("name"),
                    None,
                    Text(
                        "script name %(name)r is also used by %(file)s", name=script.name, file=names[script.name].file
                    ),
                )
            )
        elif script.name:
            names[script.name] = script
    issues.extend(check_routes(scripts))
    return scripts, _sorted(issues)


def invalid_script_error(script: IvrScript, issues: list[ValidationIssue]) -> InvalidInput:
    name = script.name or script.file
    return InvalidInput(
        Text("IVR script %(name)r has %(count)s error(s)", name=name, count=len(issues)),
        file=script.file,
        script=script.name,
        errors=[i.as_dict() for i in issues],
    )


def load_script(path: str | Path, context: ValidationContext | None = None) -> IvrScript:
    """Read and validate one file; raises InvalidInput (details: every error) when invalid."""
    script = read_script(path)
    issues = validate_script(script, context)
    if issues:
        raise invalid_script_error(script, issues)
    return script
