"""The admin dashboard's statistics: the precomputed counters (statistics/platform.py) read in
one BatchGetItem, served through the cache (``dashboard:stats``, 5 minutes). No table is scanned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agents_meetings.cache import DASHBOARD_STATS, cache_service
from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.statistics.platform import (
    ACCOUNT_STATUSES,
    MEETING_STATUSES,
    PARTICIPANTS_JOINED,
    RECORDINGS_BYTES,
    RECORDINGS_COUNT,
    ROLES,
    USERS_INACTIVE,
    counter_names,
    meeting_counter,
    notification_bucket,
    role_counter,
    status_counter,
)
from agents_meetings.tables import PlatformCounterModel

# Spec 2.1: dashboard statistics live 5 minutes in the cache.
DASHBOARD_TTL_SECONDS = 300


def _notification_buckets() -> list[str]:
    """The hourly buckets of the last 24 hours: this hour (partial) and the 23 before it."""
    now = utcnow()
    return [notification_bucket(now - timedelta(hours=hours)) for hours in range(24)]


def compute_dashboard() -> dict[str, Any]:
    """Read every counter in one BatchGetItem (at most 100 keys: 15 counters and 24 buckets)."""
    buckets = _notification_buckets()
    names = [*counter_names(), *buckets]
    values = {item.name: max(0, int(item.value or 0)) for item in PlatformCounterModel.batch_get(names)}
    active = values.get(meeting_counter("active"), 0)
    return {
        "users": {
            "by_role": {role: values.get(role_counter(role), 0) for role in ROLES},
            "by_status": {status: values.get(status_counter(status), 0) for status in ACCOUNT_STATUSES},
            "inactive": values.get(USERS_INACTIVE, 0),
            "total": sum(values.get(role_counter(role), 0) for role in ROLES),
        },
        "meetings": {
            "by_status": {status: values.get(meeting_counter(status), 0) for status in MEETING_STATUSES},
            "active_now": active,
            "participants_now": values.get(PARTICIPANTS_JOINED, 0),
        },
        "recordings": {"count": values.get(RECORDINGS_COUNT, 0), "bytes": values.get(RECORDINGS_BYTES, 0)},
        "notifications": {"sent_24h": sum(values.get(bucket, 0) for bucket in buckets)},
        "generated_at": isoformat_z(utcnow()),
    }


def dashboard_statistics() -> dict[str, Any]:
    """The dashboard, from the cache when it is there (``generated_at`` says how old it is)."""
    return cache_service().get_or_set(DASHBOARD_STATS, compute_dashboard, DASHBOARD_TTL_SECONDS)
