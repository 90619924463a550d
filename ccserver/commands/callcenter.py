"""``ccserver skill|pause-code|wrapup-code|queue ...``: the call-center settings from the
command line, each with ``--json``. The same service as the web pages: validated (errors name
the field), audited (actor ``cli:<user>``) and, when the private Asterisk runs on this machine,
applied to it at once (queues reloaded and checked, penalties of logged-in agents changed live
through its CLI). With an external Asterisk the server applies them when it next renders its
configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from ..settings import Settings


def register(subparsers: Any) -> None:
    _register_skill(subparsers)
    _register_pause_code(subparsers)
    _register_wrapup_code(subparsers)
    _register_queue(subparsers)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _register_skill(subparsers: Any) -> None:
    parser = subparsers.add_parser("skill", help="skills and agents' skill levels")
    sub = parser.add_subparsers(dest="skill_command", required=True)
    p = sub.add_parser("list", help="every skill")
    _json_flag(p)
    p.set_defaults(func=_run, action=_skill_list)
    p = sub.add_parser("add", help="a new skill")
    p.add_argument("name")
    p.add_argument("--label", default="")
    _json_flag(p)
    p.set_defaults(func=_run, action=_skill_add)
    p = sub.add_parser("rename", help="a new name (agents' levels and queues follow) or label")
    p.add_argument("name")
    p.add_argument("new_name")
    p.add_argument("--label", default=None)
    _json_flag(p)
    p.set_defaults(func=_run, action=_skill_rename)
    p = sub.add_parser("remove", help="remove a skill nobody uses (refused otherwise, saying where)")
    p.add_argument("name")
    _json_flag(p)
    p.set_defaults(func=_run, action=_skill_remove)
    p = sub.add_parser("levels", help="an agent's levels, e.g. 'fr:9,tech:5' (penalties change live)")
    p.add_argument("username")
    p.add_argument("levels", help="skill:level pairs separated by commas ('' for none)")
    _json_flag(p)
    p.set_defaults(func=_run, action=_skill_levels)


def _register_pause_code(subparsers: Any) -> None:
    parser = subparsers.add_parser("pause-code", help="agents' pause codes (paid or not, maximum duration)")
    sub = parser.add_subparsers(dest="pause_command", required=True)
    p = sub.add_parser("list", help="the pause codes offered to agents")
    p.add_argument("--retired", action="store_true", help="also those no longer offered")
    _json_flag(p)
    p.set_defaults(func=_run, action=_pause_list)
    for name, help_text in (("add", "a new pause code"), ("edit", "change a pause code")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("code")
        p.add_argument("--label", default=None)
        p.add_argument("--paid", dest="paid", action="store_true", default=None, help="paid working time")
        p.add_argument("--unpaid", dest="paid", action="store_false", help="not paid")
        p.add_argument("--max-minutes", type=int, default=None, help="supervisor alerted after (0: no maximum)")
        _json_flag(p)
        p.set_defaults(func=_run, action=_pause_add if name == "add" else _pause_edit)
    p = sub.add_parser("remove", help="no longer offered (the history keeps it)")
    p.add_argument("code")
    _json_flag(p)
    p.set_defaults(func=_run, action=_pause_remove)


def _register_wrapup_code(subparsers: Any) -> None:
    parser = subparsers.add_parser("wrapup-code", help="wrap-up (disposition) codes of a queue or a campaign")
    sub = parser.add_subparsers(dest="wrapup_command", required=True)
    for name, help_text in (("list", "the codes"), ("add", "a new code"), ("remove", "remove a code")):
        p = sub.add_parser(name, help=help_text)
        scope = p.add_mutually_exclusive_group(required=True)
        scope.add_argument("--queue")
        scope.add_argument("--campaign", type=int)
        if name != "list":
            p.add_argument("code")
        if name == "add":
            p.add_argument("--label", default="")
        _json_flag(p)
        p.set_defaults(func=_run, action={"list": _wrapup_list, "add": _wrapup_add, "remove": _wrapup_remove}[name])


def _register_queue(subparsers: Any) -> None:
    parser = subparsers.add_parser("queue", help="queues: every ACD setting, tried on Asterisk before it is stored")
    sub = parser.add_subparsers(dest="queue_command", required=True)
    p = sub.add_parser("list", help="every queue and its settings")
    _json_flag(p)
    p.set_defaults(func=_run, action=_queue_list)
    for name, help_text in (("add", "a new queue"), ("edit", "change a queue's settings")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("name")
        p.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="e.g. strategy=leastrecent, max_callers=20, required_skills=fr:5,tech:3, numbers=100,0140000100",
        )
        _json_flag(p)
        p.set_defaults(func=_run, action=_queue_add if name == "add" else _queue_edit)
    p = sub.add_parser("remove", help="remove a queue (refused while agents are logged into it)")
    p.add_argument("name")
    _json_flag(p)
    p.set_defaults(func=_run, action=_queue_remove)


# --- running a command -------------------------------------------------------------------------------


class _InstancePbx:
    """What the settings need of Asterisk, through the private instance's CLI (this process
    has no AMI connection): reload a module, read the queues it runs, change a penalty."""

    def __init__(self, instance) -> None:
        self.instance = instance

    @property
    def is_up(self) -> bool:
        return self.instance.pid() is not None

    async def reload(self, module: str) -> None:
        await asyncio.to_thread(self.instance.reload, module)

    async def queue_penalty(self, queue: str, interface: str, penalty: int) -> None:
        await asyncio.to_thread(self.instance.cli, f"queue set penalty {int(penalty)} on {interface} in {queue}")

    async def queue_remove(self, queue: str, interface: str) -> None:
        await asyncio.to_thread(self.instance.cli, f"queue remove member {interface} from {queue}")

    async def queue_params(self) -> dict[str, dict[str, str]]:
        return parse_queue_show(await asyncio.to_thread(self.instance.cli, "queue show"))


_QUEUE_LINE = re.compile(
    r"^(?P<queue>\S+) has \d+ calls \(max (?P<max>unlimited|\d+)\) in '(?P<strategy>\w+)' strategy.*within (?P<sl>\d+)s",
    re.M,
)


def parse_queue_show(text: str) -> dict[str, dict[str, str]]:
    """`queue show` -> {queue: {"strategy", "max", "servicelevel"}} (QueueStatus's names)."""
    return {
        m["queue"]: {
            "strategy": m["strategy"],
            "max": "0" if m["max"] == "unlimited" else m["max"],
            "servicelevel": m["sl"],
        }
        for m in _QUEUE_LINE.finditer(text)
    }


def _services(settings: Settings):
    from ..adapters.db.acd import AcdRepository
    from ..adapters.db.callcenter import CallCenterRepository
    from ..adapters.db.database import Database
    from ..adapters.db.repositories import AuditLog
    from ..capabilities.acd.service import AcdService
    from ..capabilities.agents.model import AgentBoard
    from ..capabilities.callcenter.service import CallCenterService
    from ..capabilities.calls.model import CallTracker
    from ..core.clock import SystemClock
    from .phones import _running_instance

    db = Database(settings.storage.effective_database_url)
    db.upgrade()
    clock, audit = SystemClock(), AuditLog(db)
    instance = _running_instance(settings)
    pbx = _InstancePbx(instance) if instance is not None else None
    acd = AcdService(AcdRepository(db, clock), AgentBoard(clock), CallTracker(clock), pbx, instance, audit, clock)
    return CallCenterService(CallCenterRepository(db), acd, audit, clock), db


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from .server import _cli_actor

    service, db = _services(settings)

    async def go() -> Any:
        await service.acd.load()  # the agents' stored logins: whose penalties change live
        return await args.action(service, args, _cli_actor())

    try:
        result, text = asyncio.run(go())
    finally:
        db.dispose()
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else text)
    return 0


Action = Callable[[Any, argparse.Namespace, str], Awaitable[tuple[Any, str]]]


# --- skills -------------------------------------------------------------------------------------------


async def _skill_list(service, args, actor):
    skills = await service.skills()
    return [s.to_dict() for s in skills], "\n".join(f"{s.name:<20} {s.label}" for s in skills) or "(no skill)"


async def _skill_add(service, args, actor):
    skill = await service.create_skill(args.name, args.label, actor)
    return skill.to_dict(), f"skill {skill.name} added"


async def _skill_rename(service, args, actor):
    skill = await service.rename_skill(args.name, args.new_name, args.label, actor)
    return skill.to_dict(), f"skill {args.name} is now {skill.name}"


async def _skill_remove(service, args, actor):
    await service.remove_skill(args.name, actor)
    return {"removed": args.name}, f"skill {args.name} removed"


async def _skill_levels(service, args, actor):
    from ..capabilities.acd.model import parse_skills

    result = await service.set_levels(args.username, parse_skills(args.levels), actor)
    live = ", ".join(f"{q}: {p}" for q, p in result["penalties"].items())
    text = f"levels of {args.username}: {result['skills']}"
    if live:
        text += f"; penalties applied live ({live})"
    if result["left"]:
        text += f"; left {', '.join(result['left'])} (skills no longer enough)"
    return result, text


# --- pause codes ----------------------------------------------------------------------------------------


def _pause_line(c) -> str:
    limit = f"max {c.max_minutes} min" if c.max_minutes else "no maximum"
    return f"{c.code:<16} {c.label:<24} {'paid' if c.paid else 'unpaid':<7} {limit}{'' if c.active else ' (retired)'}"


async def _pause_list(service, args, actor):
    codes = await service.pause_codes(include_retired=args.retired)
    return [c.to_dict() for c in codes], "\n".join(_pause_line(c) for c in codes) or "(no pause code)"


async def _pause_add(service, args, actor):
    from ..capabilities.callcenter.model import PauseCode

    code = PauseCode(args.code, args.label or "", bool(args.paid), args.max_minutes or 0)
    await service.create_pause_code(code, actor)
    return code.to_dict(), f"pause code added: {_pause_line(code)}"


async def _pause_edit(service, args, actor):
    changes = {
        k: v
        for k, v in (("label", args.label), ("paid", args.paid), ("max_minutes", args.max_minutes))
        if v is not None
    }
    code = await service.update_pause_code(args.code, changes, actor)
    return code.to_dict(), f"pause code changed: {_pause_line(code)}"


async def _pause_remove(service, args, actor):
    await service.retire_pause_code(args.code, actor)
    return {"removed": args.code}, f"pause code {args.code} is no longer offered"


# --- wrap-up codes ---------------------------------------------------------------------------------------


def _scope(args) -> dict:
    return {"queue": args.queue} if args.queue is not None else {"campaign": args.campaign}


async def _wrapup_list(service, args, actor):
    codes = await service.wrapup_codes(**_scope(args))
    return [c.to_dict() for c in codes], "\n".join(f"{c.code:<20} {c.label}" for c in codes) or "(no code)"


async def _wrapup_add(service, args, actor):
    from ..capabilities.callcenter.model import WrapupCode

    code = await service.add_wrapup_code(WrapupCode(args.code, args.label), actor, **_scope(args))
    return code.to_dict(), f"code {code.code} added"


async def _wrapup_remove(service, args, actor):
    await service.remove_wrapup_code(args.code, actor, **_scope(args))
    return {"removed": args.code}, f"code {args.code} removed"


# --- queues ------------------------------------------------------------------------------------------------


def queue_changes(pairs: list[str]) -> dict[str, Any]:
    """FIELD=VALUE pairs -> typed queue fields; InvalidInput names the field that does not parse."""
    from ..capabilities.acd.model import QueueDefinition, parse_skills
    from ..core.errors import InvalidInput

    fields = QueueDefinition.__dataclass_fields__
    defaults = QueueDefinition(name="x")
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or key not in fields or key == "name":
            raise InvalidInput(
                f"--set {pair!r}: FIELD=VALUE with FIELD one of {', '.join(f for f in fields if f != 'name')}",
                field=key or "set",
            )
        default = getattr(defaults, key)
        if isinstance(default, bool):
            if text.lower() not in ("yes", "no", "true", "false", "1", "0"):
                raise InvalidInput(f"{key}: yes or no", field=key)
            changes[key] = text.lower() in ("yes", "true", "1")
        elif isinstance(default, int):
            if not text.strip().isdigit():
                raise InvalidInput(f"{key}: a whole number", field=key)
            changes[key] = int(text)
        elif isinstance(default, tuple):
            changes[key] = tuple(x.strip() for x in text.split(",") if x.strip())
        elif key == "required_skills":
            changes[key] = parse_skills(text)
        elif key == "hours":  # mon-fri=08:00-12:00,13:30-18:00;sat=09:00-12:00
            hours = {}
            for part in filter(None, (p.strip() for p in text.split(";"))):
                days, eq, ranges = part.partition("=")
                if not eq:
                    raise InvalidInput("hours: mon-fri=08:00-12:00,13:30-18:00;sat=09:00-12:00", field="hours")
                hours[days.strip()] = ranges.strip()
            changes[key] = hours
        else:
            changes[key] = text
    return changes


def _queue_line(q) -> str:
    return (
        f"{q.name:<16} {q.strategy:<11} ring {q.ring_seconds}s wrap-up {q.wrapup_seconds}s "
        f"max wait {q.max_wait_seconds or '-'}s max callers {q.max_callers or '-'} "
        f"skills {dict(q.required_skills) or '-'} numbers {','.join(q.numbers) or '-'}"
    )


async def _queue_list(service, args, actor):
    from ..capabilities.acd.service import queue_dict

    queues = await service.acd.queues()
    return [queue_dict(q) for q in queues], "\n".join(_queue_line(q) for q in queues) or "(no queue)"


async def _queue_add(service, args, actor):
    from ..capabilities.acd.model import QueueDefinition
    from ..capabilities.acd.service import queue_dict

    queue = QueueDefinition(name=args.name, **queue_changes(args.set))
    await service.acd.create_queue(queue, actor)
    return queue_dict(queue), f"queue added: {_queue_line(queue)}"


async def _queue_edit(service, args, actor):
    from ..capabilities.acd.service import queue_dict

    queue = replace(await service.acd.queue(args.name), **queue_changes(args.set))
    await service.acd.update_queue(queue, actor)
    return queue_dict(queue), f"queue changed: {_queue_line(queue)}"


async def _queue_remove(service, args, actor):
    await service.acd.remove_queue(args.name, actor)
    return {"removed": args.name}, f"queue {args.name} removed"
