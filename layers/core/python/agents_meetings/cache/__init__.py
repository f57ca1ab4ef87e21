"""The cache (spec 2.1): ``CacheService`` with an in-process tier and a shared Redis tier, its key
conventions and TTLs, and the one instance per container (``cache_service``)."""

from __future__ import annotations

import threading

from agents_meetings.cache.client import CircuitBreaker, build_client
from agents_meetings.cache.keys import (
    ACTIVE_MEETINGS,
    DASHBOARD_STATS,
    deny_key,
    meeting_key,
    member_key,
    participant_count_key,
    session_key,
    settings_key,
    user_key,
)
from agents_meetings.cache.service import CacheService, Lookup
from agents_meetings.settings import get_settings

__all__ = [
    "ACTIVE_MEETINGS",
    "DASHBOARD_STATS",
    "CacheService",
    "Lookup",
    "cache_service",
    "deny_key",
    "meeting_key",
    "member_key",
    "participant_count_key",
    "reset_cache_service",
    "session_key",
    "settings_key",
    "user_key",
]

_lock = threading.Lock()
_instance: CacheService | None = None


def cache_service() -> CacheService:
    """The container's CacheService, built from the settings on first use (clients connect lazily)."""
    global _instance
    with _lock:
        if _instance is None:
            settings = get_settings()
            client = build_client(settings) if settings.cache_backend == "redis" else None
            _instance = CacheService(
                client,
                backend=settings.cache_backend,
                default_ttl=settings.cache_default_ttl,
                local_ttl=settings.cache_local_ttl_seconds,
                local_max_entries=settings.cache_local_max_entries,
                breaker=CircuitBreaker(settings.cache_breaker_seconds),
            )
        return _instance


def reset_cache_service() -> None:
    """Forget the instance (tests and the local runtime change the environment)."""
    global _instance
    with _lock:
        _instance = None
