"""The README tells the whole truth: every route the web app registers and every CLI command
is named in it. A route counts as named when README.md shows its path, or a parent path of it,
in a code span (`/customers` names `/customers/{id}`; `/` and `/api` name nothing but
themselves); a command when a code span spells it out from `ccserver` on (`ccserver user
disable|enable NAME` names `user disable` and `user enable`)."""

from __future__ import annotations

import argparse
import itertools
import re
from pathlib import Path

from ccserver.adapters.web.app import create_app
from ccserver.app import Runtime
from ccserver.cli import build_parser
from ccserver.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
_WORD = re.compile(r"^[a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)*$")
_GLOBAL_OPTIONS = {"--config", "--log-level"}  # options of `ccserver` itself, with a value


def code_spans(text: str) -> list[str]:
    """The `inline code` spans and the lines of ``` blocks."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M))
    return inline + [line for block in blocks for line in block.splitlines()]


def documented_paths(text: str) -> set[str]:
    paths = set()
    for span in code_spans(text):
        for token in span.split():
            if token.startswith("/"):
                paths.add(token.rstrip(",.;:)").removesuffix("...").rstrip("/") or "/")
    return paths


def documented_commands(text: str) -> set[tuple[str, ...]]:
    """Every command path a code span spells out: ("user", "add"), ("asterisk", "render")..."""
    commands = set()
    for span in code_spans(text):
        words = span.split()
        for start in (i for i, w in enumerate(words) if w in ("ccserver", "./ccs")):
            rest, path = iter(words[start + 1 :]), []
            for word in rest:
                if word in _GLOBAL_OPTIONS:
                    next(rest, None)
                    continue
                if not _WORD.match(word):
                    break
                path.append(word.split("|"))
            commands.update(itertools.product(*path))
    return commands


def app_routes(tmp_path) -> set[str]:
    """The paths of the web app's routes (what a user or an API client can reach)."""
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    try:
        app = create_app(runtime)
        return {
            resource.canonical
            for resource in app.router.resources()
            if resource.canonical != "/static"  # the files of the pages
        }
    finally:
        runtime.database.dispose()


def cli_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every leaf command of the argparse tree: ("serve",), ("user", "add")..."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        return {prefix}
    return {
        command
        for action in subparsers
        for name, sub in action.choices.items()
        for command in cli_commands(sub, (*prefix, name))
    }


def is_named(path: str, documented: set[str]) -> bool:
    parts = path.split("/")
    for end in range(len(parts), 1, -1):
        candidate = "/".join(parts[:end])
        if candidate == "/api":  # too broad to name anything below it
            break
        if candidate in documented:
            return True
    return path in documented


def test_every_route_of_the_web_app_is_in_the_readme(tmp_path):
    documented = documented_paths(README.read_text())
    routes = app_routes(tmp_path)
    assert {"/admin/acd", "/wallboard", "/api/wallboard", "/"} <= routes  # the listing works
    missing = sorted(path for path in routes if not is_named(path, documented))
    assert not missing, f"routes missing from README.md (add them to the Pages or API table): {missing}"


def test_every_command_is_in_the_readme():
    documented = documented_commands(README.read_text())
    commands = cli_commands(build_parser())
    assert {("serve",), ("asterisk", "render"), ("compliance", "build-list")} <= commands  # the walk works
    missing = sorted(" ".join(c) for c in commands if not any(d[: len(c)] == c for d in documented))
    assert not missing, f"commands missing from README.md (add them to Commands): {missing}"


def test_the_checks_see_what_is_missing():
    text = "| `/customers` | all |\n\n- `ccserver user add|passwd NAME` and `ccserver --config F db upgrade`\n"
    assert is_named("/customers/{id}", documented_paths(text))
    assert not is_named("/admin/acd", documented_paths(text))
    assert not is_named("/api/queues", documented_paths("`/api`"))
    assert is_named("/", documented_paths("`/`")) and not is_named("/wallboard", documented_paths("`/`"))
    assert documented_commands(text) == {("user", "add"), ("user", "passwd"), ("db", "upgrade")}
    assert ("user", "disable") not in documented_commands(text)
