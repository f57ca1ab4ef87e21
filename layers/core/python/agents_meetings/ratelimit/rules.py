"""What is limited and how much: the spec's rate format, tiers, special limits and window math.

The algorithm is a sliding-window counter: the count of the current fixed window plus the previous
window's count weighted by how much of it still overlaps the sliding window. It needs only two
numbers per caller, which one DynamoDB item holds and one atomic update returns.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from agents_meetings.settings import Settings

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86_400,
    "day": 86_400,
}
_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d*)\s*([a-z]+?)s?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Rate:
    """``limit`` requests per ``period_seconds``."""

    limit: int
    period_seconds: int

    def __str__(self) -> str:
        for unit, seconds in (("day", 86_400), ("hour", 3600), ("minute", 60)):
            if self.period_seconds % seconds == 0:
                count = self.period_seconds // seconds
                return f"{self.limit}/{unit}" if count == 1 else f"{self.limit}/{count}{unit}s"
        return f"{self.limit}/{self.period_seconds}seconds"


def parse_rate(text: str) -> Rate:
    """``"100/minute"``, ``"5/15minutes"``, ``"3/hour"``, ``"10 per 2 h"`` -> Rate; ValueError otherwise."""
    match = _RATE.match(text or "")
    if not match:
        raise ValueError(f"rate {text!r} is not '<count>/<period>', e.g. '100/minute' or '5/15minutes'")
    count, multiplier, unit = int(match[1]), int(match[2] or 1), match[3].lower()
    seconds = _UNITS.get(unit) or _UNITS.get(unit.rstrip("s"))
    if seconds is None:
        raise ValueError(f"rate {text!r} has an unknown unit {unit!r} (second, minute, hour, day)")
    if count < 1 or multiplier < 1:
        raise ValueError(f"rate {text!r} must allow at least 1 request per at least 1 period")
    return Rate(count, multiplier * seconds)


Scope = Literal["user", "ip"]

# Tiers by caller (spec 2.3), then the special limits of single routes.
TIER_NAMES = ("anonymous", "authenticated", "participant", "host", "admin")
SPECIAL_NAMES = ("login", "registration", "file_upload", "meeting_creation")
LIMIT_NAMES = (*TIER_NAMES, *SPECIAL_NAMES)
ROLE_TIERS = {"admin": "admin", "teacher": "host", "host": "host", "participant": "participant"}


@dataclass(frozen=True)
class SpecialRoute:
    name: str
    method: str
    path: re.Pattern[str]
    scope: Scope


SPECIAL_ROUTES: tuple[SpecialRoute, ...] = (
    SpecialRoute("login", "POST", re.compile(r"^/api/v1/auth/login/?$"), "ip"),
    SpecialRoute("registration", "POST", re.compile(r"^/api/v1/auth/register/?$"), "ip"),
    # Uploads: a POST that starts one (POST /api/v1/materials hands out a presigned PUT), anywhere.
    SpecialRoute("file_upload", "POST", re.compile(r"^/api/v1/(.*/)?(uploads?|files|materials)(/[^/]*)?$"), "user"),
    SpecialRoute("meeting_creation", "POST", re.compile(r"^/api/v1/meetings/?$"), "user"),
)


# Liveness probes are not limited here (the stage throttle and the WAF rule still cover them): a
# throttled health check would take healthy capacity out of service. Nor are LiveKit's webhooks:
# they carry a signature, not a token, so they would share the anonymous tier (10/minute) of the
# few addresses LiveKit sends from, and a recording alone sends a dozen (started, updated, ended
# per egress); a throttled egress_ended waits for the reconcile job (minutes). Unsigned ones are
# refused by the signature check.
EXEMPT_PATHS = frozenset({"/api/v1/health", "/api/v1/health/", "/api/v1/webhooks/livekit", "/api/v1/webhooks/livekit/"})


def default_rates(settings: Settings) -> dict[str, Rate]:
    """The spec's limits; RATE_LIMIT_DEFAULT sets the authenticated tier, RATE_LIMIT_LOGIN the login one."""
    return {
        "anonymous": Rate(10, 60),
        "authenticated": parse_rate(settings.rate_limit_default),
        "participant": Rate(200, 60),
        "host": Rate(500, 60),
        "admin": Rate(1000, 60),
        "login": parse_rate(settings.rate_limit_login),
        "registration": Rate(3, 3600),
        "file_upload": Rate(10, 3600),
        "meeting_creation": Rate(20, 3600),
    }


def tier_for_role(role: str | None) -> str:
    """No valid token -> anonymous; a known role -> its tier; any other signed-in caller -> authenticated."""
    if role is None:
        return "anonymous"
    return ROLE_TIERS.get(role, "authenticated")


def special_route(method: str, path: str) -> SpecialRoute | None:
    for route in SPECIAL_ROUTES:
        if method == route.method and route.path.match(path):
            return route
    return None


# --- sliding-window counter math -------------------------------------------------------------


def window_index(now: float, period: int) -> int:
    return int(now // period)


def weighted_count(now: float, period: int, current: int, previous: int) -> float:
    """Requests in the sliding window ending now: all of this window's, and the previous window's
    in proportion to the part of it the sliding window still covers."""
    elapsed = (now - window_index(now, period) * period) / period
    return previous * (1.0 - elapsed) + current


def is_allowed(now: float, period: int, limit: int, current: int, previous: int) -> bool:
    """``current`` includes this request."""
    return current <= limit and weighted_count(now, period, current, previous) <= limit + 1e-9


def remaining(now: float, period: int, limit: int, current: int, previous: int) -> int:
    return max(0, math.floor(limit - weighted_count(now, period, current, previous) + 1e-9))


def next_allowed_at(now: float, period: int, limit: int, current: int, previous: int) -> float:
    """The first instant at which one more request would be allowed (``current`` counts this window's
    requests so far). If this window still has room, the previous window's weight must shrink enough;
    otherwise the next window starts with this one's count as its "previous"."""
    start = window_index(now, period) * period
    if current + 1 <= limit:
        if previous <= 0:
            return now
        fraction = 1.0 - (limit - current - 1) / previous
        return max(now, start + max(0.0, fraction) * period)
    fraction = 1.0 - (limit - 1) / current
    return start + period + max(0.0, fraction) * period


def retry_after_seconds(now: float, at: float) -> int:
    """Whole seconds to wait, rounded up, so that a client retrying then is never refused again."""
    return max(1, math.ceil(at - now - 1e-9))
