"""The rules stay pure: no I/O library, no web, no database, no PBX in them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "ccserver" / "capabilities" / "outbound"
PURE = ["dialplan.py", "views.py", "numbers.py", "windows.py", "compliance.py", "pacing.py", "imports.py",
        "dialer.py"]
FORBIDDEN = {"aiohttp", "sqlmodel", "sqlalchemy", "panoramisk", "aioari", "apscheduler",
             "asyncio", "socket", "subprocess", "os", "mmap", "requests", "psycopg2",
             "logging", "pathlib", "shutil", "tempfile"}


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_import_no_io_library(name):
    tree = ast.parse((PACKAGE / name).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, imported & FORBIDDEN
    calls = {n.func.id for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not calls & {"open", "print", "input", "exec", "eval"}
