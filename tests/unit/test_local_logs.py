"""`make logs` (infra/local/logs.py): the platform's JSON lines, filtered by correlation id and level,
from the runtime's log file (followed as it grows) or stdin."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from agents_meetings.observability import logger, set_correlation_id

from infra.local import logs

pytestmark = pytest.mark.unit


def line(message: str, correlation_id: str | None, level: str = "INFO", **extra: object) -> str:
    record = {"level": level, "message": message, "timestamp": "2026-01-01T10:00:00Z", "service": "s", **extra}
    if correlation_id:
        record["correlation_id"] = correlation_id
    return json.dumps(record)


LOG = "\n".join(
    [
        "Agents-Meetings is running on http://127.0.0.1:8000",
        line("request", "req-1", method="POST", status=200),
        line("request", "req-2", status=200),
        '{"not json',
        line("notified", "req-1", detail_type="UserApproved", notifications=1),
        line("notification email failed", "req-1", level="WARNING", attempt=1),
        line("no id", None),
    ]
)


def test_only_the_lines_of_one_correlation_id_in_order(tmp_path: Path) -> None:
    path = tmp_path / "runtime.log"
    path.write_text(LOG + "\n")
    out = io.StringIO()
    assert logs.run(["--id", "req-1", str(path)], stdout=out) == 0
    shown = out.getvalue().splitlines()
    assert [text.split(" ")[3] for text in shown] == ["request", "notified", "notification"]
    assert shown[0] == "2026-01-01T10:00:00Z INFO req-1 request method=POST status=200"
    assert "detail_type=UserApproved notifications=1" in shown[1]
    assert "service=" not in out.getvalue()


def test_a_level_filter_and_json_output(tmp_path: Path) -> None:
    path = tmp_path / "runtime.log"
    path.write_text(LOG + "\n")
    out = io.StringIO()
    assert logs.run(["--id", "req-1", "--level", "warning", "--json", str(path)], stdout=out) == 0
    [shown] = out.getvalue().splitlines()
    assert json.loads(shown)["message"] == "notification email failed"


def test_stdin_is_read_with_a_dash() -> None:
    out = io.StringIO()
    assert logs.run(["--id", "req-2", "-"], stdin=io.StringIO(LOG), stdout=out) == 0
    assert len(out.getvalue().splitlines()) == 1


def test_follow_prints_lines_added_after_it_started(tmp_path: Path) -> None:
    path = tmp_path / "runtime.log"
    path.write_text(line("request", "req-9") + "\n")
    checks = []

    def grow_once_then_stop() -> bool:
        checks.append(1)
        if len(checks) == 1:  # the file grows while followed: a line, written in two parts
            with path.open("a") as handle:
                handle.write(line("notified", "req-9")[:10])
                handle.flush()
                handle.write(line("notified", "req-9")[10:] + "\n")
            return False
        return True

    out = io.StringIO()
    assert logs.run(["--follow", "--id", "req-9", str(path)], stdout=out, stop=grow_once_then_stop) == 0
    assert [text.split(" ")[3] for text in out.getvalue().splitlines()] == ["request", "notified"]


def test_a_missing_log_file_says_how_to_get_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert logs.run([str(tmp_path / "none.log")]) == 2
    assert "make dev" in capsys.readouterr().err


def test_the_runtime_writes_the_loggers_json_lines_to_the_log_file(tmp_path: Path) -> None:
    path = tmp_path / "local" / "runtime.log"
    handler = logs.write_to(path)
    target = logging.getLogger(logger.name)
    level = target.level
    target.setLevel(logging.INFO)
    try:
        set_correlation_id("req-file")
        logger.info("request", extra={"status": 201})
        set_correlation_id("other")
        logger.info("request", extra={"status": 200})
    finally:
        target.removeHandler(handler)
        handler.close()
        target.setLevel(level)
        set_correlation_id(None)
    out = io.StringIO()
    assert logs.run(["--id", "req-file", "--json", str(path)], stdout=out) == 0
    [shown] = [json.loads(text) for text in out.getvalue().splitlines()]
    assert shown["status"] == 201
