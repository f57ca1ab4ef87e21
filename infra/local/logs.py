"""Follow and filter the platform's JSON logs: ``python -m infra.local.logs [--id ID] [FILE|-]``.

The local runtime writes its output (Powertools JSON lines, and its banner) to stdout and, with
``LOCAL_LOG_FILE`` (``make dev`` sets ``.local/runtime.log``), to that file as well. This prints the
JSON lines whose ``correlation_id`` is ``--id`` (a request's ``X-Request-Id``: its whole path),
optionally at or above ``--level``, one compact line each; ``--follow`` keeps reading as the file
grows (``tail -f``). ``-`` reads stdin (``make dev | make logs ID=...``). Lines that are not JSON are
skipped.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from infra.catalog import REPO_ROOT

DEFAULT_LOG_FILE = REPO_ROOT / ".local" / "runtime.log"
LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
# The keys every line has; the rest are shown after the message as key=value.
SHOWN_FIRST = ("timestamp", "level", "correlation_id", "message")
HIDDEN = {"location", "service", "cold_start", "function_memory_size", "function_arn", "function_request_id"}


def write_to(path: Path) -> logging.Handler:
    """Also append the platform Logger's JSON lines to ``path`` (the runtime, with LOCAL_LOG_FILE).
    Call after the environment is configured: the Logger reads its service name and level then."""
    from agents_meetings.observability import logger

    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    return handler


def records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            yield record


def matches(record: dict[str, Any], correlation_id: str | None, level: str | None) -> bool:
    if correlation_id and record.get("correlation_id") != correlation_id:
        return False
    return not level or LEVELS.get(str(record.get("level", "")).upper(), 0) >= LEVELS[level.upper()]


def render(record: dict[str, Any]) -> str:
    head = " ".join(str(record.get(key, "-")) for key in SHOWN_FIRST)
    rest = " ".join(
        f"{key}={json.dumps(value, default=str) if not isinstance(value, str) else value}"
        for key, value in record.items()
        if key not in SHOWN_FIRST and key not in HIDDEN
    )
    return f"{head} {rest}".rstrip()


def follow(stream: TextIO, stop: Callable[[], bool], poll_seconds: float = 0.2) -> Iterator[str]:
    """The lines of ``stream`` and, as it grows, the lines added (until ``stop()``)."""
    pending = ""
    while True:
        chunk = stream.readline()
        if chunk:
            pending += chunk
            if pending.endswith("\n"):
                yield pending
                pending = ""
            continue
        if stop():
            if pending:
                yield pending
            return
        time.sleep(poll_seconds)  # tail -f: nothing to wait on but the file growing


def run(
    argv: list[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.logs", description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default=str(DEFAULT_LOG_FILE), help="a log file, or - for stdin")
    parser.add_argument("--id", dest="correlation_id", help="only this correlation id (a request's X-Request-Id)")
    parser.add_argument("--level", choices=sorted(LEVELS, key=LEVELS.__getitem__), type=str.upper)
    parser.add_argument("--follow", "-f", action="store_true", help="keep reading as the file grows")
    parser.add_argument("--json", action="store_true", help="print the matching JSON lines as they are")
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    if args.source == "-":
        lines: Iterable[str] = stdin or sys.stdin
        handle: TextIO | None = None
    else:
        path = Path(args.source)
        if not path.exists():
            print(f"no log at {path}: start the platform with `make dev` (LOCAL_LOG_FILE)", file=sys.stderr)
            return 2
        handle = path.open(encoding="utf-8", errors="replace")
        lines = follow(handle, stop) if args.follow else handle
    try:
        for record in records(lines):
            if matches(record, args.correlation_id, args.level):
                out.write((json.dumps(record, default=str) if args.json else render(record)) + "\n")
                out.flush()
    except KeyboardInterrupt:
        pass
    finally:
        if handle is not None:
            handle.close()
    return 0


if __name__ == "__main__":
    sys.exit(run())
