"""Every Lambda handler file is a few lines: the work lives in the core package and its factories."""

from pathlib import Path

import pytest

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
HANDLERS = sorted(FUNCTIONS_DIR.rglob("handler.py"))
MAX_LINES = 30


def test_there_are_handlers_to_count() -> None:
    assert len(HANDLERS) >= 20


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: str(p.parent.relative_to(FUNCTIONS_DIR)))
def test_a_handler_file_is_at_most_30_lines(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"{path.relative_to(FUNCTIONS_DIR)} has {len(lines)} lines"
