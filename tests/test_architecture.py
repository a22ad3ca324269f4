"""The core stays pure: no web, storage, queue or Twilio imports, and no clock reads."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "helpline" / "core"
FORBIDDEN = {"flask", "werkzeug", "redis", "rq", "twilio", "requests", "helpline.storage", "helpline.channels"}


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_imports_nothing_from_the_edges() -> None:
    modules = sorted(CORE.glob("*.py"))
    assert len(modules) >= 7
    for path in modules:
        bad = {n for n in imports(path) if n.split(".")[0] in FORBIDDEN or n in FORBIDDEN}
        assert not bad, f"{path.name} imports {bad}"


def test_only_flows_py_reads_yaml() -> None:
    assert [p.name for p in sorted(CORE.glob("*.py")) if "yaml" in imports(p)] == ["flows.py"]


def test_core_never_reads_the_clock() -> None:
    for path in CORE.glob("*.py"):
        source = path.read_text()
        assert ".now(" not in source and "time.time(" not in source and "utcnow" not in source, path.name
