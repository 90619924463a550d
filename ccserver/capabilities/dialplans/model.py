"""The admins' dialplan files: what a version is, how it is read, and the rules it must pass
before it may reach the live Asterisk. Pure: no I/O.

The rules are those `asterisklint` makes (targets of Goto/Gosub/Dial(Local/...) exist, no
unknown application, no duplicate priority) plus shadowing across includes and the server's
guards. We do not use asterisklint itself: its list of applications is frozen at Asterisk 13
(ours is asked of the Asterisk 22 we run), it has no shadowing check nor Dial(Local/...) check,
and it reports through process-global state, unfit for a server checking versions concurrently.

Guards (a bad file never reaches the live PBX, the server's contexts cannot be broken):
- no context named ``ccserver-*`` (the server's own, in asterisk-conf/extensions.conf), no
  ``include => ccserver-*`` (a phone or caller reaching a server-only context);
- jumps into the server only through its public entry points (`SERVER_ENTRY_CONTEXTS`);
- no ``[general]``/``[globals]`` (they change every context), no ``switch``, no ``#exec``, and
  ``#include`` only of another file of the same version.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...core.errors import InvalidInput
from ...core.text import Text

FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}\.conf$")
MAX_FILES = 40
MAX_FILE_CHARS = 200_000
MAX_COMMENT = 500
SERVER_PREFIX = "ccserver-"
# server contexts an admin's dialplan may send a call to (numbers, queues, IVRs, tests)
SERVER_ENTRY_CONTEXTS = frozenset({"ccserver-inbound", "ccserver-routes", "ccserver-ivr-routes", "ccserver-test"})
# the contexts of the admin files the server includes (asterisk-conf/extensions.conf)
ADMIN_HOOKS = ("inbound",)
# the extension the health probe calls after an apply: Local/probe@ccserver-inbound
PROBE_CONTEXT, PROBE_EXTEN = "ccserver-inbound", "probe"
RESERVED_SECTIONS = frozenset({"general", "globals"})
# problems that keep a version away from any Asterisk, even the scratch one
GUARD_RULES = frozenset({"directive", "include-outside", "reserved-section", "server-context"})


@dataclass(frozen=True)
class Problem:
    """One reason a version may not be applied, at a file and line (line 0: the whole file)."""

    file: str
    line: int
    rule: str
    message: str
    source: str = "lint"  # lint (the rules here) or asterisk (the scratch Asterisk said so)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "rule": self.rule, "message": self.message, "source": self.source}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class Version:
    id: int
    created_at: datetime
    author: str
    comment: str
    files: dict[str, str]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "author": self.author,
            "comment": self.comment,
            "files": sorted(self.files),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "files": dict(sorted(self.files.items()))}


@dataclass(frozen=True)
class Deployment:
    """One apply or rollback on the live Asterisk, and how it ended."""

    id: int
    at: datetime
    actor: str
    action: str  # apply, rollback, auto-rollback
    version_id: int
    previous_version_id: int | None
    outcome: str  # applied, rolled-back, refused
    comment: str = ""
    detail: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "version_id": self.version_id,
            "previous_version_id": self.previous_version_id,
            "outcome": self.outcome,
            "comment": self.comment,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


# --- validation of what an admin sends -------------------------------------------------------


def check_files(files: Any) -> dict[str, str]:
    """The files of a version: a mapping of plain names to text, at least one file."""
    if not isinstance(files, Mapping) or not files:
        raise InvalidInput("files: at least one dialplan file (name -> text)", field="files")
    if len(files) > MAX_FILES:
        raise InvalidInput(Text("files: at most %(MAX_FILES)s files", MAX_FILES=MAX_FILES), field="files")
    clean: dict[str, str] = {}
    for name, text in files.items():
        if not isinstance(name, str) or not FILE_NAME.match(name):
            raise InvalidInput(
                Text(
                    "files: %(name)r is not a file name such as default.conf (a-z, 0-9, _ or -, then .conf)", name=name
                ),
                field="files",
                file=str(name),
            )
        if not isinstance(text, str):
            raise InvalidInput(Text("files: %(name)s must be text", name=name), field="files", file=name)
        if len(text) > MAX_FILE_CHARS:
            raise InvalidInput(
                Text(
                    "files: %(name)s is longer than %(MAX_FILE_CHARS)s characters",
                    name=name,
                    MAX_FILE_CHARS=MAX_FILE_CHARS,
                ),
                field="files",
                file=name,
            )
        text = text.replace("\r\n", "\n")
        for number, line in enumerate(text.split("\n"), 1):
            bad = next((c for c in line if (ord(c) < 32 and c != "\t") or ord(c) == 127), None)
            if bad is not None:
                raise InvalidInput(
                    Text(
                        "files: %(name)s:%(number)s: control character %(value)s",
                        name=name,
                        number=number,
                        value=f"{ord(bad):#04x}",
                    ),
                    field="files",
                    file=name,
                    line=number,
                )
        clean[name] = text
    return clean


def check_comment(comment: Any) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT or any(ord(c) < 32 for c in comment):
        raise InvalidInput(
            Text("comment: one line of at most %(MAX_COMMENT)s characters", MAX_COMMENT=MAX_COMMENT), field="comment"
        )
    return comment.strip()


# --- reading extensions.conf syntax -----------------------------------------------------------


@dataclass
class Priority:
    exten: str
    number: int
    label: str
    app: str
    args: str
    file: str
    line: int


@dataclass
class Context:
    name: str
    file: str
    line: int
    priorities: list[Priority] = field(default_factory=list)
    includes: list[tuple[str, str, int]] = field(default_factory=list)  # (context, file, line)

    def extensions(self) -> list[str]:
        seen: dict[str, None] = {}
        for p in self.priorities:
            seen.setdefault(p.exten, None)
        return list(seen)


@dataclass
class Dialplan:
    contexts: dict[str, Context]
    problems: list[Problem]


_COMMENT_BLOCK = re.compile(r";--.*?--;", re.S)
_HEADER = re.compile(r"^\[([^\]]*)\]")
_APP = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(?:\((.*)\)\s*)?$", re.S)


def _strip_comment(line: str) -> str:
    out = []
    escaped = False
    for c in line:
        if c == ";" and not escaped:
            break
        escaped = c == "\\" and not escaped
        out.append(c)
    return "".join(out).strip()


def _split_top(text: str, sep: str = ",", limit: int = -1) -> list[str]:
    """Split on `sep` outside (), [] and {} (`${...}`, `$[...]`, `Gosub(c,e,1(a,b))`)."""
    parts, depth, current = [], 0, []
    for c in text:
        if c in "([{":
            depth += 1
        elif c in ")]}" and depth:
            depth -= 1
        if c == sep and depth == 0 and (limit < 0 or len(parts) < limit):
            parts.append("".join(current))
            current = []
            continue
        current.append(c)
    parts.append("".join(current))
    return parts


def _app_of(value: str) -> tuple[str, str]:
    match = _APP.match(value)
    if match:
        return match.group(1), (match.group(2) or "").strip()
    name, _, args = value.partition(",")  # the old App,args form
    return name.strip(), args.strip()


def parse(files: Mapping[str, str]) -> Dialplan:
    """Contexts, priorities and includes of the files (in name order, as Asterisk globs them),
    with the problems of syntax and of the guards found on the way."""
    contexts: dict[str, Context] = {}
    problems: list[Problem] = []
    for file in sorted(files):
        text = _COMMENT_BLOCK.sub(lambda m: "\n" * m.group(0).count("\n"), files[file])
        current: Context | None = None
        last: tuple[str, int] | None = None  # (exten, priority) of the last line, for `same`
        for number, raw in enumerate(text.split("\n"), 1):
            line = _strip_comment(raw)
            if not line:
                continue
            if line.startswith("#"):
                directive, _, argument = line[1:].partition(" ")
                argument = argument.strip().strip('"<>')
                if directive in ("include", "tryinclude"):
                    if argument not in files or argument == file:
                        problems.append(
                            Problem(
                                file,
                                number,
                                "include-outside",
                                f"#include {argument!r}: only another file of this dialplan may be included",
                            )
                        )
                else:
                    problems.append(
                        Problem(file, number, "directive", f"#{directive} is not allowed in an admin dialplan")
                    )
                continue
            header = _HEADER.match(line)
            if header:
                name = header.group(1).strip()
                last = None
                if name.lower() in RESERVED_SECTIONS:
                    problems.append(
                        Problem(
                            file,
                            number,
                            "reserved-section",
                            f"[{name}] changes every context: set it in asterisk-conf/extensions.conf",
                        )
                    )
                    current = None
                    continue
                if name.startswith(SERVER_PREFIX):
                    problems.append(
                        Problem(
                            file,
                            number,
                            "server-context",
                            f"[{name}]: contexts named {SERVER_PREFIX}* belong to the server",
                        )
                    )
                if not re.match(r"^[A-Za-z0-9_.+-]{1,79}$", name):
                    problems.append(Problem(file, number, "syntax", f"[{name}] is not a context name"))
                current = contexts.get(name)
                if current is None:
                    current = contexts[name] = Context(name, file, number)
                continue
            key, sep, value = line.partition("=")
            if not sep:
                problems.append(Problem(file, number, "syntax", f"expected 'key => value', got {line[:60]!r}"))
                continue
            key, value = key.strip().lower(), value.lstrip(">").strip()
            if current is None:
                problems.append(Problem(file, number, "syntax", f"'{key}' outside of a context"))
                continue
            if key in ("switch", "eswitch", "lswitch"):
                problems.append(Problem(file, number, "directive", f"{key} is not allowed in an admin dialplan"))
            elif key == "include":
                target = value.split(",")[0].strip()
                if target.startswith(SERVER_PREFIX):
                    problems.append(
                        Problem(
                            file, number, "server-context", f"include => {target}: server contexts may not be included"
                        )
                    )
                current.includes.append((target, file, number))
            elif key in ("exten", "same"):
                if key == "exten":
                    parts = _split_top(value, ",", 2)
                    if len(parts) < 3:
                        problems.append(Problem(file, number, "syntax", "exten => EXTENSION,PRIORITY,Application(...)"))
                        continue
                    exten, prio, app_text = (p.strip() for p in parts)
                    exten = exten.split("/")[0]  # EXTEN/callerid
                else:
                    if last is None:
                        problems.append(Problem(file, number, "syntax", "'same =>' needs an 'exten =>' before it"))
                        continue
                    parts = _split_top(value, ",", 1)
                    if len(parts) < 2:
                        problems.append(Problem(file, number, "syntax", "same => PRIORITY,Application(...)"))
                        continue
                    exten, prio, app_text = last[0], parts[0].strip(), parts[1].strip()
                if not exten:
                    problems.append(Problem(file, number, "syntax", "an extension needs a name"))
                    continue
                label_match = re.match(r"^([0-9]+|n|n\+[0-9]+|s|hint)(?:\(([A-Za-z0-9_-]+)\))?$", prio)
                if not label_match:
                    problems.append(Problem(file, number, "syntax", f"invalid priority/label {prio!r}"))
                    continue
                base, label = label_match.group(1), label_match.group(2) or ""
                previous = last[1] if last and last[0] == exten else 0
                if base == "hint":
                    last = (exten, previous)
                    continue
                if base.isdigit():
                    prio_number = int(base)
                elif base == "s":
                    prio_number = previous
                elif base.startswith("n+"):
                    prio_number = previous + 1 + int(base[2:])
                else:
                    if previous == 0:
                        problems.append(
                            Problem(file, number, "syntax", f"priority 'n' of {exten} has no priority before it")
                        )
                        continue
                    prio_number = previous + 1
                app, args = _app_of(app_text)
                if not app:
                    problems.append(Problem(file, number, "syntax", "no application"))
                    continue
                current.priorities.append(Priority(exten, prio_number, label, app, args, file, number))
                last = (exten, prio_number)
            elif key != "ignorepat":
                problems.append(Problem(file, number, "syntax", f"unknown key {key!r} in a context"))
    return Dialplan(contexts, problems)


# --- extension patterns ----------------------------------------------------------------------


def pattern_regex(exten: str) -> re.Pattern[str]:
    """The set of dialled strings an extension matches (`_NXX.` style patterns; else itself)."""
    if not exten.startswith("_"):
        return re.compile(re.escape(exten) + r"\Z")
    out, i, body = [], 0, exten[1:]
    while i < len(body):
        c = body[i]
        if c in "Xx":
            out.append("[0-9]")
        elif c in "Zz":
            out.append("[1-9]")
        elif c in "Nn":
            out.append("[2-9]")
        elif c == ".":
            out.append(".+")
        elif c == "!":
            out.append(".*")
        elif c == "[":
            end = body.find("]", i)
            if end < 0:
                out.append(re.escape(c))
            else:
                inner = body[i + 1 : end]
                out.append("[" + "".join("\\" + ch if ch in "\\^]" else ch for ch in inner) + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out) + r"\Z")
    except re.error:
        return re.compile(re.escape(exten) + r"\Z")


def matches(exten: str, dialled: str) -> bool:
    return bool(pattern_regex(exten).match(dialled))


# --- the rules ------------------------------------------------------------------------------


def _jump_targets(app: str, args: str) -> list[list[str]]:
    """The [context,]exten,priority argument lists a jump application may go to."""
    name = app.lower()
    if name in ("goto", "gosub"):
        return [_split_top(args)]
    if name in ("gotoif", "gosubif"):
        branches = _split_top(args, "?", 1)
        if len(branches) < 2:
            return []
        return [_split_top(b) for b in _split_top(branches[1], ":", 1) if b.strip()]
    return []


def _local_targets(args: str) -> list[tuple[str, str]]:
    """(exten, context) of each Local/EXTEN@CONTEXT in a Dial's first argument."""
    first = _split_top(args)[0] if args else ""
    found = []
    for part in first.split("&"):
        part = part.strip()
        if part.lower().startswith("local/"):
            target = part[6:].split("/")[0]
            exten, _, context = target.partition("@")
            found.append((exten, context or "default"))
    return found


class _Resolver:
    def __init__(self, contexts: Mapping[str, Context], external: Iterable[str]) -> None:
        self.contexts = contexts
        self.external = set(external) | SERVER_ENTRY_CONTEXTS

    def reachable(self, context: str, exten: str, seen: set[str] | None = None) -> bool:
        """Whether `exten` is matched in `context` or a context it includes."""
        seen = seen if seen is not None else set()
        if context in seen:
            return False
        seen.add(context)
        ctx = self.contexts.get(context)
        if ctx is None:
            return context in self.external  # cannot see inside: trust it
        if any(matches(e, exten) for e in ctx.extensions()):
            return True
        return any(self.reachable(inc, exten, seen) for inc, _, _ in ctx.includes)

    def matching_in(self, context: str, exten: str, seen: set[str] | None = None) -> str | None:
        """The context (this one or an included one, in Asterisk's order) that takes `exten`."""
        seen = seen if seen is not None else set()
        if context in seen or context not in self.contexts:
            return None
        seen.add(context)
        ctx = self.contexts[context]
        if any(matches(e, exten) for e in ctx.extensions()):
            return context
        for inc, _, _ in ctx.includes:
            found = self.matching_in(inc, exten, seen)
            if found:
                return found
        return None


def lint(
    files: Mapping[str, str],
    *,
    known_apps: Iterable[str] | None = None,
    external_contexts: Iterable[str] = (),
) -> list[Problem]:
    """Every problem of a version, by file and line. `known_apps`: the applications the running
    Asterisk has (None: not checked); `external_contexts`: contexts defined outside the admin
    files that jumps may reach (the server's entry points always may)."""
    plan = parse(files)
    problems = list(plan.problems)
    apps = {a.lower() for a in known_apps} if known_apps is not None else None
    resolver = _Resolver(plan.contexts, external_contexts)

    def check_target(where: Priority, context_name: str, exten: str, prio: str, what: str) -> None:
        if any("$" in x for x in (context_name, exten, prio)):
            return  # computed at run time
        if context_name.startswith(SERVER_PREFIX) and context_name not in SERVER_ENTRY_CONTEXTS:
            problems.append(
                Problem(
                    where.file,
                    where.line,
                    "server-context",
                    f"{what} into {context_name}: only {', '.join(sorted(SERVER_ENTRY_CONTEXTS))} of the server may be reached",
                )
            )
            return
        if context_name not in plan.contexts and context_name not in resolver.external:
            problems.append(
                Problem(
                    where.file,
                    where.line,
                    "unknown-context",
                    f"{what} to context {context_name!r}, which no file defines",
                )
            )
            return
        if not resolver.reachable(context_name, exten):
            problems.append(
                Problem(
                    where.file, where.line, "unknown-extension", f"{what} to {exten}@{context_name}: no such extension"
                )
            )
            return
        if prio and not prio.isdigit() and context_name in plan.contexts:
            labels = {p.label for c in [plan.contexts[context_name]] for p in c.priorities if p.exten == exten}
            if prio not in labels:
                problems.append(
                    Problem(
                        where.file,
                        where.line,
                        "unknown-label",
                        f"{what} to {exten}@{context_name}: no priority labelled {prio!r}",
                    )
                )

    for ctx in plan.contexts.values():
        seen: dict[tuple[str, int], Priority] = {}
        for p in ctx.priorities:
            key = (p.exten, p.number)
            if key in seen:
                first = seen[key]
                problems.append(
                    Problem(
                        p.file,
                        p.line,
                        "duplicate-priority",
                        f"{p.exten} priority {p.number} in [{ctx.name}] is already at {first.file}:{first.line}",
                    )
                )
            else:
                seen[key] = p
            if apps is not None and p.app.lower() not in apps:
                problems.append(
                    Problem(p.file, p.line, "unknown-application", f"no application {p.app!r} in this Asterisk")
                )
            for target in _jump_targets(p.app, p.args):
                parts = [t.strip() for t in target]
                parts[-1] = parts[-1].split("(")[0]  # Gosub's priority(args)
                if len(parts) == 1:
                    context_name, exten, prio = ctx.name, p.exten, parts[0]
                elif len(parts) == 2:
                    context_name, (exten, prio) = ctx.name, parts
                elif len(parts) == 3:
                    context_name, exten, prio = parts
                else:
                    problems.append(Problem(p.file, p.line, "syntax", f"{p.app}: [[context,]extension,]priority"))
                    continue
                check_target(p, context_name, exten, prio, p.app)
            if p.app.lower() == "dial":
                for exten, context_name in _local_targets(p.args):
                    check_target(p, context_name, exten, "", "Dial(Local)")
        for inc, file, line in ctx.includes:
            if inc not in plan.contexts and inc not in resolver.external and not inc.startswith(SERVER_PREFIX):
                problems.append(Problem(file, line, "unknown-context", f"include => {inc}: no file defines it"))
        # shadowing: an extension of an included context that the including context (or an
        # earlier include) already takes is never reached from here
        for index, (inc, file, line) in enumerate(ctx.includes):
            inner = plan.contexts.get(inc)
            if inner is None:
                continue
            for exten in inner.extensions():
                if exten.startswith("_"):
                    continue
                taker = ctx.name if any(matches(e, exten) for e in ctx.extensions()) else None
                if taker is None:
                    for earlier, _, _ in ctx.includes[:index]:
                        taker = resolver.matching_in(earlier, exten)
                        if taker:
                            break
                if taker:
                    where = next(p for p in inner.priorities if p.exten == exten)
                    problems.append(
                        Problem(
                            where.file,
                            where.line,
                            "shadowed-extension",
                            f"{exten} in [{inc}] is never reached from [{ctx.name}] (line {line} of {file}): [{taker}] takes it first",
                        )
                    )
    return sorted(set(problems), key=lambda p: (p.file, p.line, p.rule, p.message))


def contexts_of(files: Mapping[str, str]) -> list[str]:
    """The contexts the files define (what must be loaded after an apply)."""
    return sorted(parse(files).contexts)


def context_lines(files: Mapping[str, str]) -> dict[str, tuple[str, int]]:
    return {name: (c.file, c.line) for name, c in parse(files).contexts.items()}


def diff(old: Mapping[str, str], new: Mapping[str, str], old_label: str = "running", new_label: str = "new") -> str:
    """A unified diff of two versions, file by file (an added or removed file in full)."""
    out: list[str] = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        out.extend(
            difflib.unified_diff(
                (a or "").splitlines(keepends=True),
                (b or "").splitlines(keepends=True),
                fromfile=f"{old_label}/{name}" if a is not None else "/dev/null",
                tofile=f"{new_label}/{name}" if b is not None else "/dev/null",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)


_AT_LINE = re.compile(r"at line (\d+) of (\S+)")
_CONTEXT_NAMED = re.compile(r"(?:context|in) '([^']+)'", re.I)


def asterisk_problems(messages: Iterable[str], files: Mapping[str, str]) -> list[Problem]:
    """The scratch Asterisk's warnings and errors about these files, with file and line: as
    Asterisk wrote it ("at line N of .../dialplans/F"), else the line of the context it names."""
    where = context_lines(files)
    problems = []
    for message in messages:
        level = "ERROR" if "ERROR[" in message else "WARNING" if "WARNING[" in message else ""
        if not level:
            continue
        text = re.sub(r"^\[[^\]]*\]\s*", "", message).strip()
        at = _AT_LINE.search(text)
        if at and "/dialplans/" in at.group(2):
            name = at.group(2).rsplit("/", 1)[1]
            if name in files:
                problems.append(Problem(name, int(at.group(1)), "asterisk", text, source="asterisk"))
            continue
        named = _CONTEXT_NAMED.search(text)
        if named and named.group(1) in where:
            file, line = where[named.group(1)]
            problems.append(Problem(file, line, "asterisk", text, source="asterisk"))
    return problems
