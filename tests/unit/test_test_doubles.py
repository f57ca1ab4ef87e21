"""Production code never builds a test double (issue 12): ``RecordingPublisher`` keeps events in
memory for tests; a production path that built one would drop every event it published."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = [ROOT / "layers" / "core" / "python" / "agents_meetings", ROOT / "functions", ROOT / "infra"]
TEST_DOUBLES = {"RecordingPublisher"}


def _builds(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in TEST_DOUBLES:
                names.add(name)
    return names


def test_production_code_never_builds_a_test_double() -> None:
    found = {
        str(path.relative_to(ROOT)): built
        for folder in PRODUCTION
        for path in sorted(folder.rglob("*.py"))
        if (built := _builds(path))
    }
    assert found == {}
