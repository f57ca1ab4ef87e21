"""Time-ordered notification ids: ``<microseconds since epoch, 16 digits><8 hex>``.

Sorted as strings they are sorted by creation time, so "newest first" is the table's own order and
an SSE client resumes with ``id > Last-Event-ID``. Within one container ids strictly increase even
when the clock stands still (frozen in tests, or two creations in the same microsecond).
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime

from agents_meetings.clock import to_utc, utcnow

_lock = threading.Lock()
_last = 0


def _micros(at: datetime) -> int:
    return int(to_utc(at).timestamp() * 1_000_000)


def new_id() -> str:
    global _last
    with _lock:
        now = max(_micros(utcnow()), _last + 1)
        _last = now
    return f"{now:016d}{secrets.token_hex(4)}"


def cursor_at(at: datetime) -> str:
    """An id-shaped position: every notification created after ``at`` sorts above it."""
    return f"{_micros(at):016d}"


def is_valid(value: str) -> bool:
    return 16 <= len(value) <= 24 and value[:16].isdigit() and all(c in "0123456789abcdef" for c in value[16:])
