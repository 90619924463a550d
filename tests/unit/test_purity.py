"""The core and the rules do no I/O: no network, database, web, PBX or file library in them.

One test for all: `ccserver/core/*.py`, every `ccserver/capabilities/*/model.py` and the other pure
rule modules (listed in PURE_RULES). The core may use asyncio's queues and tasks (the bus) but not
its network or subprocess functions; the rule modules use no asyncio at all and touch no file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ccserver"

# libraries that talk to the network, a database, a PBX, a scheduler or other processes
IO_LIBRARIES = {
    "aiohttp",
    "aiohttp_jinja2",
    "sqlmodel",
    "sqlalchemy",
    "psycopg2",
    "sqlite3",
    "panoramisk",
    "aioari",
    "apscheduler",
    "requests",
    "httpx",
    "urllib",
    "http",
    "socket",
    "ssl",
    "selectors",
    "subprocess",
    "mmap",
    "shutil",
    "tempfile",
}
# the rule modules also stay away from the event loop, the file system and file formats
RULE_EXTRA = {"asyncio", "os", "pathlib", "logging", "yaml", "jinja2"}
# asyncio functions that open connections, servers or processes
ASYNCIO_IO = {
    "open_connection",
    "start_server",
    "open_unix_connection",
    "start_unix_server",
    "create_subprocess_exec",
    "create_subprocess_shell",
}
LOOP_IO = {
    "create_connection",
    "create_server",
    "create_datagram_endpoint",
    "sock_connect",
    "sock_recv",
    "sock_sendall",
    "subprocess_exec",
    "subprocess_shell",
    "sendfile",
}
CORE_CALLS = {"open", "exec", "eval", "input", "print"}
RULE_CALLS = CORE_CALLS

# pure rule modules besides model.py (a path that no longer exists is skipped: the capability
# moved it; add the new one here)
PURE_RULES = [
    "outbound/dialplan.py",
    "outbound/views.py",
    "outbound/numbers.py",
    "outbound/windows.py",
    "outbound/compliance.py",
    "outbound/pacing.py",
    "outbound/imports.py",
    "outbound/dialer.py",
]
# modules allowed one of RULE_EXTRA, and why
ALLOWED = {
    "ivr/model.py": {"logging"},  # logs a bad holiday calendar once, at load
}


def _imports(tree: ast.AST) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    return imported


def _called_names(tree: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _called_attributes(tree: ast.AST) -> set[str]:
    return {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


CORE = sorted(PACKAGE.glob("core/*.py"))
RULES = sorted(PACKAGE.glob("capabilities/*/model.py")) + [
    PACKAGE / "capabilities" / name for name in PURE_RULES if (PACKAGE / "capabilities" / name).exists()
]


def test_the_pure_modules_are_found():
    assert len(CORE) >= 5 and len(RULES) >= 5, (CORE, RULES)


@pytest.mark.parametrize("path", CORE, ids=_rel)
def test_core_module_does_no_io(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not _imports(tree) & IO_LIBRARIES, _imports(tree) & IO_LIBRARIES
    assert not _called_names(tree) & CORE_CALLS, _called_names(tree) & CORE_CALLS
    assert not _called_attributes(tree) & (ASYNCIO_IO | LOOP_IO), _called_attributes(tree) & (ASYNCIO_IO | LOOP_IO)


@pytest.mark.parametrize("path", RULES, ids=_rel)
def test_rule_module_does_no_io(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    forbidden = (IO_LIBRARIES | RULE_EXTRA) - ALLOWED.get(_rel(path).removeprefix("capabilities/"), set())
    assert not _imports(tree) & forbidden, _imports(tree) & forbidden
    assert not _called_names(tree) & RULE_CALLS, _called_names(tree) & RULE_CALLS
    assert not _called_attributes(tree) & (
        ASYNCIO_IO | LOOP_IO | {"read_text", "write_text", "read_bytes", "write_bytes"}
    )
