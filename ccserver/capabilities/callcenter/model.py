"""Call-center settings an admin edits: skills, pause codes, wrap-up codes. Pure: no I/O.

The rules here decide what is valid, where a skill is still used (so it is not removed from
under an agent or a queue), how agents' skill levels become queue penalties, and which pauses
have outlasted their code's maximum (the supervisor is alerted). Queue definitions and their
rendering stay in the ACD capability (`capabilities/acd/model.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ...core.errors import InvalidInput
from ...core.text import Text
from ..acd.model import MAX_SKILL_LEVEL, NAME_RE, QueueDefinition, member_penalty

CODE_RE = NAME_RE  # skills, pause codes and wrap-up codes: the same safe identifiers
MAX_PAUSE_MINUTES = 24 * 60
_LABEL_BAD = re.compile(r"[\x00-\x1f\x7f<>]")


@dataclass(frozen=True)
class Skill:
    name: str
    label: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label}


@dataclass(frozen=True)
class PauseCode:
    """A reason an agent pauses for. `paid`: the pause counts as paid working time; after
    `max_minutes` (0: no maximum) the supervisor is alerted."""

    code: str
    label: str = ""
    paid: bool = False
    max_minutes: int = 0
    active: bool = True

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "label": self.label,
            "paid": self.paid,
            "max_minutes": self.max_minutes,
            "active": self.active,
        }


@dataclass(frozen=True)
class WrapupCode:
    """A disposition an agent picks after a call of a queue or of an outbound campaign."""

    code: str
    label: str = ""

    def to_dict(self) -> dict:
        return {"code": self.code, "label": self.label}


def _bad_code(field: str, value: object) -> str | None:
    if not isinstance(value, str) or not CODE_RE.match(value):
        return f"{field}: lower-case letters, digits, '-' or '_' (max 32), starting with a letter"
    return None


def _bad_label(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > 100 or _LABEL_BAD.search(value):
        return "label: up to 100 characters, no control characters, '<' or '>'"
    return None


def _raise(what: str, problems: list[tuple[str, str]]) -> None:
    if problems:
        raise InvalidInput(
            f"{what}: " + "; ".join(message for _field, message in problems),
            field=problems[0][0],
            errors=[{"field": f, "message": m} for f, m in problems],
        )


def validate_skill(skill: Skill) -> Skill:
    problems = [(f, m) for f, m in (("name", _bad_code("name", skill.name)), ("label", _bad_label(skill.label))) if m]
    _raise(f"skill {skill.name!r}", problems)
    return skill


def validate_pause_code(code: PauseCode) -> PauseCode:
    problems = [(f, m) for f, m in (("code", _bad_code("code", code.code)), ("label", _bad_label(code.label))) if m]
    if not isinstance(code.paid, bool):
        problems.append(("paid", "paid: true or false"))
    minutes = code.max_minutes
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= MAX_PAUSE_MINUTES:
        problems.append(
            ("max_minutes", f"max_minutes: a whole number of minutes from 0 (no maximum) to {MAX_PAUSE_MINUTES}")
        )
    _raise(f"pause code {code.code!r}", problems)
    return code


def validate_wrapup_code(code: WrapupCode) -> WrapupCode:
    problems = [(f, m) for f, m in (("code", _bad_code("code", code.code)), ("label", _bad_label(code.label))) if m]
    _raise(f"wrap-up code {code.code!r}", problems)
    return code


def validate_levels(levels: Mapping[str, object], known_skills: Iterable[str]) -> dict[str, int]:
    """An agent's skill levels ({skill: 1..10}); InvalidInput names each bad one."""
    known = set(known_skills)
    problems: list[tuple[str, str]] = []
    for skill, level in levels.items():
        if skill not in known:
            problems.append(("skills", f"skills: unknown skill {skill!r}"))
        elif not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= MAX_SKILL_LEVEL:
            problems.append(("skills", f"skills: level of {skill!r} must be a whole number 1..{MAX_SKILL_LEVEL}"))
    _raise("skill levels", problems)
    return {skill: int(level) for skill, level in levels.items()}  # type: ignore[call-overload]


def skill_usage(
    skill: str, agents: Iterable[tuple[str, Mapping[str, int]]], queues: Iterable[QueueDefinition]
) -> list[str]:
    """Where `skill` is used: "agent alice", "queue support" (sorted); [] when unused."""
    used = [f"agent {name}" for name, skills in agents if skill in skills]
    used += [f"queue {q.name}" for q in queues if skill in q.required_skills]
    return sorted(used)


def renamed_key(mapping: Mapping[str, int], old: str, new: str) -> dict[str, int]:
    """The mapping with key `old` renamed to `new` (order kept; unchanged when absent)."""
    return {(new if key == old else key): value for key, value in mapping.items()}


@dataclass(frozen=True)
class PenaltyPlan:
    """What a change of an agent's levels does in the queues they are logged into."""

    penalties: dict[str, int]  # queue -> new penalty (still eligible)
    leave: tuple[str, ...]  # queues whose required skills the agent no longer has


def penalty_plan(levels: Mapping[str, int], logged_in: Iterable[str], queues: Iterable[QueueDefinition]) -> PenaltyPlan:
    by_name = {q.name: q for q in queues}
    penalties: dict[str, int] = {}
    leave: list[str] = []
    for name in sorted(set(logged_in)):
        queue = by_name.get(name)
        penalty = member_penalty(levels, queue.required_skills) if queue is not None else None
        if penalty is None:
            leave.append(name)
        else:
            penalties[name] = penalty
    return PenaltyPlan(penalties, tuple(leave))


def require_code(code: str, allowed: Iterable[str], where: str) -> str:
    """The chosen wrap-up code when it is one of `where`'s (a queue, a campaign); else a clear
    InvalidInput naming the field and listing the allowed codes."""
    allowed = list(allowed)
    if code not in allowed:
        choices = ", ".join(allowed) if allowed else "none defined: an admin adds them in /admin/callcenter"
        raise InvalidInput(
            Text(
                "disposition: unknown code %(code)r for %(where)s (allowed: %(choices)s)",
                code=code,
                where=where,
                choices=choices,
            ),
            field="disposition",
            allowed=allowed,
        )
    return code


@dataclass(frozen=True)
class PausedAgent:
    username: str
    reason: str
    since: datetime


@dataclass(frozen=True)
class PauseOverrun:
    """An agent paused longer than their pause code allows."""

    username: str
    reason: str
    since: datetime
    max_minutes: int
    minutes: int  # how long the pause has lasted so far (whole minutes)

    def to_dict(self) -> dict:
        return {
            "username": self.username,
            "reason": self.reason,
            "since": self.since.isoformat(),
            "max_minutes": self.max_minutes,
            "minutes": self.minutes,
        }


def pause_overruns(paused: Iterable[PausedAgent], maximums: Mapping[str, int], now: datetime) -> list[PauseOverrun]:
    """The pauses that have lasted longer than their code's maximum (codes without a maximum,
    or unknown, never overrun). A pause that lasts exactly the maximum is not yet an overrun."""
    found = []
    for p in paused:
        limit = maximums.get(p.reason, 0)
        if limit <= 0:
            continue
        lasted = (now - p.since).total_seconds()
        if lasted > limit * 60:
            found.append(PauseOverrun(p.username, p.reason, p.since, limit, int(lasted // 60)))
    return sorted(found, key=lambda o: o.username)
