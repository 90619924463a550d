"""Recording, retention and quality review rules. Pure: no I/O.

- Policies: each queue (and each outbound campaign, whose queue is ``camp-<id>``) has a recording
  policy: ``always`` (MixMonitor starts when an agent answers), ``on_demand`` (the agent starts
  it from the desk) or ``never`` (refused). The agent may pause and resume a recording (while a
  card number is read): Asterisk then writes silence, so the file keeps the call's length and
  the pause shows as a silent gap; the pauses are also kept as [start, end] offsets.
- Retention: a recording expires `retention_days` after it started (0: kept for ever); the
  purge job deletes the expired ones, and only those.
- Quality grids: sections (weighted) of criteria (weighted, scored 0..max points, or "n/a" when
  allowed); a *fatal* criterion (yes/no) answered "no" makes the whole evaluation score 0.
- HTTP ranges and WAV headers: what the audio route needs to answer a browser's player.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ...core.errors import Conflict, Forbidden, InvalidInput
from ...core.text import Text

POLICIES = ("always", "on_demand", "never")
DEFAULT_POLICY = "always"
# CNIL guidance for call recordings kept for training and quality: 6 months at most
DEFAULT_RETENTION_DAYS = 180
MAX_RETENTION_DAYS = 36500
CAMPAIGN_QUEUE_RE = re.compile(r"^camp-(\d+)$")


# --- policies ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingPolicy:
    policy: str = DEFAULT_POLICY
    retention_days: int = DEFAULT_RETENTION_DAYS

    @property
    def starts_on_answer(self) -> bool:
        return self.policy == "always"


def validate_policy(policy: Any, retention_days: Any) -> RecordingPolicy:
    if policy not in POLICIES:
        raise InvalidInput(
            Text("recording policy must be one of %(value)s", value=", ".join(POLICIES)),
            field="recording_policy",
            allowed=list(POLICIES),
        )
    if (
        not isinstance(retention_days, int)
        or isinstance(retention_days, bool)
        or not 0 <= retention_days <= MAX_RETENTION_DAYS
    ):
        raise InvalidInput(
            Text(
                "retention_days: a whole number of days from 0 (keep for ever) to %(MAX_RETENTION_DAYS)s",
                MAX_RETENTION_DAYS=MAX_RETENTION_DAYS,
            ),
            field="retention_days",
        )
    return RecordingPolicy(policy, retention_days)


def campaign_of_queue(queue: str) -> int | None:
    """The campaign id of an outbound campaign's queue (``camp-12`` -> 12), else None."""
    match = CAMPAIGN_QUEUE_RE.match(queue or "")
    return int(match.group(1)) if match else None


# --- a call's recording while it lasts ------------------------------------------------------------

# states of a call's recording: none (on-demand, not started) -> recording <-> paused -> ended
NONE, RECORDING, PAUSED, STOPPED = "none", "recording", "paused", "stopped"
ACTIONS = ("start", "pause", "resume", "stop")


@dataclass(frozen=True)
class LiveRecording:
    """The recording of one call (the caller's channel) as long as the call lasts."""

    uniqueid: str
    linkedid: str
    channel: str
    agent: str
    queue: str
    policy: str
    retention_days: int
    caller_number: str = ""
    state: str = NONE
    recording_id: int | None = None
    spool_name: str = ""
    started_at: datetime | None = None
    pauses: tuple[tuple[float, float | None], ...] = ()

    def offset(self, now: datetime) -> float:
        """Seconds since the recording started (3 decimals)."""
        if self.started_at is None:
            return 0.0
        return round(max(0.0, (now - self.started_at).total_seconds()), 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uniqueid": self.uniqueid,
            "queue": self.queue,
            "agent": self.agent,
            "policy": self.policy,
            "state": self.state,
            "recording_id": self.recording_id,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "pauses": [list(p) for p in self.pauses],
            "can": allowed_actions(self),
        }


def allowed_actions(live: LiveRecording) -> list[str]:
    actions = []
    for action in ACTIONS:
        try:
            check_action(live, action)
        except (Conflict, Forbidden):
            continue
        actions.append(action)
    return actions


def check_action(live: LiveRecording, action: str) -> None:
    """Raise when `action` (start, pause, resume, stop) is not possible now."""
    if action not in ACTIONS:
        raise InvalidInput(Text("unknown recording action %(action)r", action=action), field="action")
    if action == "start":
        if live.policy == "never":
            raise Forbidden(
                Text("calls of queue %(queue)s are never recorded", queue=live.queue),
                field="policy",
                policy=live.policy,
            )
        if live.state in (RECORDING, PAUSED):
            raise Conflict("the call is already being recorded", field="state", state=live.state)
        if live.state == STOPPED:
            raise Conflict("the recording of this call was stopped; it cannot restart", field="state", state=live.state)
        return
    if live.state == NONE:
        raise Conflict("this call is not being recorded", field="state", state=live.state)
    if live.state == STOPPED:
        raise Conflict("the recording of this call is over", field="state", state=live.state)
    if action == "pause" and live.state == PAUSED:
        raise Conflict("the recording is already paused", field="state", state=live.state)
    if action == "resume" and live.state != PAUSED:
        raise Conflict("the recording is not paused", field="state", state=live.state)
    if action == "stop" and live.policy == "always":
        raise Forbidden(
            Text("calls of queue %(queue)s are always recorded: pause instead", queue=live.queue),
            field="policy",
            policy=live.policy,
        )


def apply_action(live: LiveRecording, action: str, now: datetime) -> LiveRecording:
    """The live recording after `action` (checked first)."""
    check_action(live, action)
    if action == "start":
        return replace(live, state=RECORDING, started_at=now, pauses=())
    if action == "pause":
        return replace(live, state=PAUSED, pauses=live.pauses + ((live.offset(now), None),))
    if action == "resume":
        return replace(live, state=RECORDING, pauses=close_pauses(live.pauses, live.offset(now)))
    return replace(live, state=STOPPED, pauses=close_pauses(live.pauses, live.offset(now)))


def close_pauses(pauses: Sequence[tuple[float, float | None]], at: float) -> tuple[tuple[float, float], ...]:
    """Every pause ended (an open one ends at `at`)."""
    return tuple((start, at if end is None else end) for start, end in pauses)


def paused_seconds(pauses: Iterable[Sequence[float | None]]) -> float:
    return round(sum((end or start) - start for start, end in pauses), 3)


# --- retention ---------------------------------------------------------------------------------


def expires_at(started_at: datetime, retention_days: int) -> datetime | None:
    """When a recording started at `started_at` expires; None: kept for ever (0 days)."""
    if retention_days <= 0:
        return None
    return started_at + timedelta(days=retention_days)


def is_expired(started_at: datetime, retention_days: int, now: datetime) -> bool:
    limit = expires_at(started_at, retention_days)
    return limit is not None and limit <= now


def purge_cutoff(retention_days: int, now: datetime) -> datetime | None:
    """Recordings started before this instant are expired under `retention_days`."""
    if retention_days <= 0:
        return None
    return now - timedelta(days=retention_days)


# --- quality grids -----------------------------------------------------------------------------

CRITERION_ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_POINTS = 100


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    weight: float = 1.0
    max_points: int = 1  # 1: a yes/no criterion
    fatal: bool = False  # answered 0 ("no"): the whole evaluation scores 0
    allow_na: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "weight": self.weight,
            "max_points": self.max_points,
            "fatal": self.fatal,
            "allow_na": self.allow_na,
        }


@dataclass(frozen=True)
class Section:
    title: str
    weight: float
    criteria: tuple[Criterion, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "weight": self.weight, "criteria": [c.to_dict() for c in self.criteria]}


@dataclass(frozen=True)
class Grid:
    name: str
    sections: tuple[Section, ...]
    description: str = ""

    @property
    def criteria(self) -> dict[str, Criterion]:
        return {c.id: c for s in self.sections for c in s.criteria}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "sections": [s.to_dict() for s in self.sections]}


def _weight(value: Any, where: str, errors: list[dict[str, str]]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1000:
        errors.append({"field": where, "message": "a weight is a number above 0 (up to 1000)"})
        return 1.0
    return float(value)


def parse_grid(data: Any) -> Grid:
    """A grid from its JSON form; InvalidInput listing every problem (``errors``)."""
    if not isinstance(data, Mapping):
        raise InvalidInput("a grid is an object with a name and sections", field="grid")
    errors: list[dict[str, str]] = []
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        errors.append({"field": "name", "message": "a name of 1 to 100 characters"})
        name = ""
    description = data.get("description", "")
    if not isinstance(description, str) or len(description) > 5000:
        errors.append({"field": "description", "message": "text up to 5000 characters"})
        description = ""
    raw_sections = data.get("sections")
    sections: list[Section] = []
    seen: set[str] = set()
    if not isinstance(raw_sections, list) or not raw_sections:
        errors.append({"field": "sections", "message": "at least one section"})
        raw_sections = []
    for i, raw in enumerate(raw_sections, 1):
        where = f"sections[{i}]"
        if not isinstance(raw, Mapping):
            errors.append({"field": where, "message": "a section is an object"})
            continue
        title = raw.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > 200:
            errors.append({"field": f"{where}.title", "message": "a title of 1 to 200 characters"})
            title = ""
        weight = _weight(raw.get("weight", 1), f"{where}.weight", errors)
        criteria: list[Criterion] = []
        raw_criteria = raw.get("criteria")
        if not isinstance(raw_criteria, list) or not raw_criteria:
            errors.append({"field": f"{where}.criteria", "message": "at least one criterion"})
            raw_criteria = []
        for j, rc in enumerate(raw_criteria, 1):
            cwhere = f"{where}.criteria[{j}]"
            if not isinstance(rc, Mapping):
                errors.append({"field": cwhere, "message": "a criterion is an object"})
                continue
            cid = rc.get("id")
            if not isinstance(cid, str) or not CRITERION_ID_RE.match(cid):
                errors.append(
                    {
                        "field": f"{cwhere}.id",
                        "message": "lower-case letters, digits, '-' or '_' (max 40), starting with a letter",
                    }
                )
                cid = f"?{i}.{j}"
            elif cid in seen:
                errors.append({"field": f"{cwhere}.id", "message": f"criterion id {cid!r} is used twice"})
            seen.add(cid)
            label = rc.get("label")
            if not isinstance(label, str) or not label.strip() or len(label) > 300:
                errors.append({"field": f"{cwhere}.label", "message": "a label of 1 to 300 characters"})
                label = ""
            cweight = _weight(rc.get("weight", 1), f"{cwhere}.weight", errors)
            max_points = rc.get("max_points", 1)
            if isinstance(max_points, bool) or not isinstance(max_points, int) or not 1 <= max_points <= MAX_POINTS:
                errors.append(
                    {"field": f"{cwhere}.max_points", "message": f"a whole number of points from 1 to {MAX_POINTS}"}
                )
                max_points = 1
            fatal = rc.get("fatal", False)
            allow_na = rc.get("allow_na", False)
            if not isinstance(fatal, bool) or not isinstance(allow_na, bool):
                errors.append({"field": cwhere, "message": "fatal and allow_na are true or false"})
                fatal, allow_na = bool(fatal), bool(allow_na)
            if fatal and max_points != 1:
                errors.append(
                    {"field": f"{cwhere}.fatal", "message": "a fatal criterion is a yes/no question (max_points 1)"}
                )
            if fatal and allow_na:
                errors.append({"field": f"{cwhere}.allow_na", "message": "a fatal criterion must always be answered"})
            criteria.append(Criterion(cid, (label or "").strip(), cweight, max_points, fatal, allow_na))
        sections.append(Section((title or "").strip(), weight, tuple(criteria)))
    if errors:
        raise InvalidInput(
            "grid: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            field=errors[0]["field"],
            errors=errors,
        )
    return Grid(name.strip(), tuple(sections), description)


@dataclass(frozen=True)
class SectionScore:
    title: str
    weight: float
    score: float | None  # 0..100; None when every criterion was n/a


@dataclass(frozen=True)
class EvaluationResult:
    score: float  # 0..100, 0 when a fatal criterion failed
    fatal: bool
    failed_fatal: tuple[str, ...]
    sections: tuple[SectionScore, ...]
    answers: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "fatal": self.fatal,
            "failed_fatal": list(self.failed_fatal),
            "sections": [{"title": s.title, "weight": s.weight, "score": s.score} for s in self.sections],
        }


def score_evaluation(grid: Grid, answers: Any) -> EvaluationResult:
    """Score `answers` ({criterion id: points | "na" | {"value": points|"na", "comment": "..."}})
    with `grid`. Every criterion must be answered. A section's score is the weighted mean of its
    criteria (points / max, n/a left out); the total is the weighted mean of the sections that
    have an answer, in percent, rounded to 0.1; a failed fatal criterion makes it 0."""
    if not isinstance(answers, Mapping):
        raise InvalidInput("answers is an object {criterion id: points}", field="answers")
    criteria = grid.criteria
    unknown = sorted(set(answers) - set(criteria))
    if unknown:
        raise InvalidInput(
            Text("unknown criteria: %(value)s", value=", ".join(map(str, unknown))), field="answers", unknown=unknown
        )
    clean: dict[str, dict[str, Any]] = {}
    missing = []
    for cid, criterion in criteria.items():
        if cid not in answers:
            missing.append(cid)
            continue
        raw = answers[cid]
        comment = ""
        if isinstance(raw, Mapping):
            comment = raw.get("comment", "") or ""
            if not isinstance(comment, str) or len(comment) > 2000:
                raise InvalidInput(Text("%(cid)s: a comment is text up to 2000 characters", cid=cid), field=cid)
            raw = raw.get("value")
        if raw == "na":
            if not criterion.allow_na:
                raise InvalidInput(
                    Text("%(cid)s: 'not applicable' is not allowed for this criterion", cid=cid), field=cid
                )
            value: Any = "na"
        elif isinstance(raw, bool):
            value = criterion.max_points if raw else 0
        elif isinstance(raw, int) and 0 <= raw <= criterion.max_points:
            value = raw
        else:
            raise InvalidInput(
                f"{cid}: points from 0 to {criterion.max_points}" + (" or 'na'" if criterion.allow_na else ""),
                field=cid,
            )
        clean[cid] = {"value": value, **({"comment": comment.strip()} if comment.strip() else {})}
    if missing:
        raise InvalidInput(
            Text("unanswered criteria: %(value)s", value=", ".join(missing)), field="answers", missing=missing
        )
    section_scores = []
    total_weight = total = 0.0
    for section in grid.sections:
        weight_sum = points = 0.0
        for c in section.criteria:
            value = clean[c.id]["value"]
            if value == "na":
                continue
            weight_sum += c.weight
            points += c.weight * value / c.max_points
        score = None if weight_sum == 0 else points / weight_sum * 100
        section_scores.append(SectionScore(section.title, section.weight, None if score is None else round(score, 1)))
        if score is not None:
            total_weight += section.weight
            total += section.weight * score
    failed = tuple(c.id for c in criteria.values() if c.fatal and clean[c.id]["value"] == 0)
    raw_total = total / total_weight if total_weight else 0.0
    final = 0.0 if failed else round(raw_total, 1)
    return EvaluationResult(final, bool(failed), failed, tuple(section_scores), clean)


@dataclass(frozen=True)
class Average:
    key: str
    count: int
    average: float
    fatal_count: int

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "count": self.count, "average": self.average, "fatal_count": self.fatal_count}


def averages(rows: Iterable[tuple[str, float, bool]]) -> list[Average]:
    """(key, score, fatal) rows -> the mean score per key (0.1 precision), by key."""
    sums: dict[str, list[float]] = {}
    for key, score, fatal in rows:
        acc = sums.setdefault(key, [0, 0.0, 0])
        acc[0] += 1
        acc[1] += score
        acc[2] += 1 if fatal else 0
    return [Average(key, int(n), round(total / n, 1), int(f)) for key, (n, total, f) in sorted(sums.items())]


# --- HTTP ranges ---------------------------------------------------------------------------------


class RangeNotSatisfiable(InvalidInput):
    error_id = "range-not-satisfiable"
    status = 416


_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The byte range (first, last inclusive) a ``Range`` header asks of a `size`-byte body;
    None for the whole body (no header, or a form we do not serve partially such as several
    ranges). RangeNotSatisfiable when it starts past the end."""
    if not header:
        return None
    match = _RANGE_RE.match(header.strip().replace(" ", ""))
    if not match:
        return None
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable("empty suffix range", size=size)
        return max(0, size - length), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or (last != "" and int(last) < start):
        raise RangeNotSatisfiable(f"range {header} outside 0-{size - 1}", size=size)
    return start, end


# --- WAV -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WavInfo:
    sample_rate: int
    channels: int
    bits: int
    data_offset: int
    data_bytes: int

    @property
    def duration_ms(self) -> int:
        frame = self.channels * self.bits // 8
        if not frame or not self.sample_rate:
            return 0
        return int(self.data_bytes // frame * 1000 // self.sample_rate)


def parse_wav_header(head: bytes, file_size: int) -> WavInfo:
    """Read a RIFF/WAVE header (the first KB of the file). The data length is what the file
    holds after the header (Asterisk fixes the header on close; a file cut short still plays)."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise InvalidInput("not a WAV file", field="file")
    pos, fmt = 12, None
    while pos + 8 <= len(head):
        chunk, length = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
        body = pos + 8
        if chunk == b"fmt " and body + 16 <= len(head):
            _tag, channels, rate, _brate, _align, bits = struct.unpack("<HHIIHH", head[body : body + 16])
            fmt = (rate, channels, bits)
        elif chunk == b"data":
            if fmt is None:
                raise InvalidInput("WAV data before its format", field="file")
            available = max(0, file_size - body)
            return WavInfo(fmt[0], fmt[1], fmt[2], body, min(length, available) if length else available)
        pos = body + length + (length & 1)
    raise InvalidInput("WAV file without a data chunk", field="file")


def caller_number_forms(e164_numbers: Iterable[str]) -> list[str]:
    """How a customer's numbers (E.164) may appear as a caller's number in call rows:
    +33612345678, 33612345678, 0033612345678 and the national 0612345678."""
    import phonenumbers  # pure computation; imported here to keep the module light

    forms: set[str] = set()
    for e164 in e164_numbers:
        if not e164:
            continue
        digits = e164.lstrip("+")
        forms |= {e164, digits, "00" + digits}
        try:
            parsed = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            continue
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        forms.add(re.sub(r"\D", "", national))
    return sorted(f for f in forms if f)


def spool_name(uniqueid: str, started_at: datetime, token: str) -> str:
    """The file name MixMonitor gets (relative: under Asterisk's spool/monitor)."""
    safe = re.sub(r"[^A-Za-z0-9.-]", "_", uniqueid)[:64]
    return f"ccs/{started_at:%Y/%m/%d}/{safe}-{token}.wav"
