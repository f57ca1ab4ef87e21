"""``RateLimitService``: the spec's four operations over a counter store and the run-time config.

``check_rate_limit`` takes one request and decides in a single store call (one DynamoDB UpdateItem);
if the store fails the request is allowed (fail open), logged and counted, never an error.
``rate_limiter`` (one per container), ``decide_or_allow`` (the fail-open decision) and ``refusal``
(the 429's message and details) are shared by the HTTP middleware and the WebSocket route.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.observability import logger, metrics
from agents_meetings.ratelimit.config import ConfigCache, LimitSetting, config_cache
from agents_meetings.ratelimit.rules import (
    Rate,
    is_allowed,
    next_allowed_at,
    remaining,
    retry_after_seconds,
    window_index,
)
from agents_meetings.ratelimit.store import CounterStore, DynamoDBCounterStore, MemoryCounterStore, RateLimitStoreError

# Counter items outlive their last window by this much before DynamoDB's TTL may delete them.
TTL_SLACK_SECONDS = 60


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit_name: str
    rate: Rate
    remaining: int
    reset_at: int  # epoch seconds: end of the current window, or when a refused caller may retry
    retry_after: int | None = None
    store_failed: bool = False

    @property
    def reset_at_iso(self) -> str:
        from datetime import UTC, datetime

        return isoformat_z(datetime.fromtimestamp(self.reset_at, UTC)) or ""

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.rate.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def counter_key(subject: str, endpoint: str, shard: int | None = None) -> str:
    return f"{endpoint}#{subject}" if shard is None else f"{endpoint}#{subject}#{shard}"


class RateLimitService:
    """``subject`` is the caller's key (``user:<id>`` or ``ip:<address>``); ``endpoint`` a limit name."""

    def __init__(self, store: CounterStore, config: ConfigCache | None = None) -> None:
        self.store = store
        self.config = config or config_cache

    def _setting(self, endpoint: str, rate: Rate | None) -> LimitSetting:
        setting = self.config.get().limits[endpoint]
        return LimitSetting(rate, setting.shards) if rate is not None else setting

    def _key(self, subject: str, endpoint: str, shards: int) -> str:
        # A hot key's count is spread over `shards` items, each allowed its share of the limit.
        return counter_key(subject, endpoint, random.randrange(shards) if shards > 1 else None)  # noqa: S311 (load spreading, not security)

    def check_rate_limit(self, user_id: str, endpoint: str, limit: Rate | None = None) -> Decision:
        """Take one request from ``user_id``'s ``endpoint`` budget: allowed or not, in one store call."""
        setting = self._setting(endpoint, limit)
        rate, shards = setting.rate, setting.shards
        cap = math.ceil(rate.limit / shards)
        now = utcnow().timestamp()
        period = rate.period_seconds
        window = window_index(now, period)
        window_end = (window + 1) * period
        try:
            counts = self.store.take(
                self._key(user_id, endpoint, shards), window, cap, window_end + period + TTL_SLACK_SECONDS
            )
        except RateLimitStoreError as exc:
            logger.warning("rate-limit store unavailable; request allowed", extra={"error": str(exc)})
            metrics.add_metric(name="RateLimitStoreErrors", unit="Count", value=1)
            return Decision(True, endpoint, rate, rate.limit, window_end, store_failed=True)
        if counts.taken and is_allowed(now, period, cap, counts.current, counts.previous):
            left = min(rate.limit, remaining(now, period, cap, counts.current, counts.previous) * shards)
            return Decision(True, endpoint, rate, left, window_end)
        wait = retry_after_seconds(now, next_allowed_at(now, period, cap, counts.current, counts.previous))
        return Decision(False, endpoint, rate, 0, math.ceil(now) + wait, retry_after=wait)

    def increment_counter(self, user_id: str, endpoint: str) -> int:
        """Count a request without deciding (e.g. work done outside the HTTP path); the new count."""
        rate = self._setting(endpoint, None).rate
        now = utcnow().timestamp()
        window = window_index(now, rate.period_seconds)
        expires_at = (window + 2) * rate.period_seconds + TTL_SLACK_SECONDS
        return self.store.add(counter_key(user_id, endpoint), window, expires_at).current

    def get_remaining(self, user_id: str, endpoint: str) -> int:
        """Requests ``user_id`` may still make now (reads, takes nothing; unsharded limits)."""
        rate = self._setting(endpoint, None).rate
        now = utcnow().timestamp()
        counts = self.store.peek(counter_key(user_id, endpoint), window_index(now, rate.period_seconds))
        return remaining(now, rate.period_seconds, rate.limit, counts.current, counts.previous)

    def reset_counter(self, user_id: str, endpoint: str) -> None:
        """Forget ``user_id``'s count for ``endpoint`` (every shard)."""
        shards = self._setting(endpoint, None).shards
        self.store.delete(counter_key(user_id, endpoint))
        for shard in range(shards if shards > 1 else 0):
            self.store.delete(counter_key(user_id, endpoint, shard))


@lru_cache(maxsize=2)
def rate_limit_service(storage: str = "dynamodb") -> RateLimitService:
    """The container's limiter over ``RATE_LIMIT_STORAGE`` (``dynamodb`` or ``memory``)."""
    store: CounterStore = MemoryCounterStore() if storage == "memory" else DynamoDBCounterStore()
    return RateLimitService(store)


def reset_rate_limiting() -> None:
    """Forget the container's limiter and cached configuration (tests, the local runtime)."""
    rate_limit_service.cache_clear()
    config_cache.invalidate()


def decide_or_allow(subject: str, limit_name: str, *, storage: str, what: str = "request") -> Decision | None:
    """One decision for ``subject`` under ``limit_name``; None when the limiter itself failed: the
    ``what`` (a request, a message) is then allowed, logged and counted (fail open). A refusal is
    counted as ``RateLimited``."""
    try:
        decision = rate_limit_service(storage).check_rate_limit(subject, limit_name)
    except Exception as exc:  # noqa: BLE001  # never refuse because the limiter failed: fail open
        logger.exception(f"rate limiter failed; {what} allowed", extra={"error": str(exc)})
        metrics.add_metric(name="RateLimitStoreErrors", unit="Count", value=1)
        return None
    if not decision.allowed:
        metrics.add_metric(name="RateLimited", unit="Count", value=1)
    return decision


def refusal(decision: Decision, what: str = "requests") -> tuple[str, dict[str, Any]]:
    """A refused decision's message ("the <limit> limit allows N <what> per <period> ... retry after
    S seconds") and details, the same for a 429 response and a WebSocket ``rate_limited`` frame."""
    rate = decision.rate
    message = (
        f"Too many {what}: the {decision.limit_name} limit allows {rate.limit} {what} per "
        f"{_period_text(rate.period_seconds)}. It resets at {decision.reset_at_iso}; "
        f"retry after {decision.retry_after} seconds."
    )
    details = {
        "limit_name": decision.limit_name,
        "limit": rate.limit,
        "period_seconds": rate.period_seconds,
        "retry_after_seconds": decision.retry_after,
        "resets_at": decision.reset_at_iso,
    }
    return message, details


def _period_text(seconds: int) -> str:
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    return f"{seconds} seconds"
