"""CacheService against a real redis-server (the embedded default): the same contract as the unit
tests' fakeredis, the server's own figures, and an outage mid-use that never fails a read."""

from __future__ import annotations

import pytest
from agents_meetings.cache import cache_service
from agents_meetings.cache.client import build_client
from agents_meetings.settings import get_settings

from infra.local.redis_server import RedisServer

pytestmark = pytest.mark.integration


def test_round_trip_and_invalidation_across_instances(cache_on: RedisServer) -> None:
    first = cache_service()
    from agents_meetings.cache.service import CacheService

    second = CacheService(build_client(get_settings()))
    assert first.get_or_set("meeting:m1", lambda: {"title": "Standup"}) == {"title": "Standup"}
    assert second.get("meeting:m1") == {"title": "Standup"}
    second.delete("meeting:m1")
    assert first.get("meeting:m1") is None
    first.set("settings:banner", {"text": "Maintenance at 6"})
    assert second.invalidate_pattern("settings:*")
    # Any instance's next read from Redis misses (``first`` may keep its in-process copy for
    # CACHE_LOCAL_TTL seconds: settings are not an exact prefix).
    assert CacheService(build_client(get_settings())).get("settings:banner") is None


def test_report_has_the_servers_memory(cache_on: RedisServer) -> None:
    cache = cache_service()
    cache.get_or_set("user:u1", lambda: {"name": "Ada"})
    cache.get("user:u1")
    report = cache.report()
    assert report["status"] == "ok" and report["backend"] == "redis"
    assert isinstance(report["memory_bytes"], int) and report["memory_bytes"] > 0
    assert report["by_prefix"]["user"] == {"hits": 1, "misses": 1, "hit_rate": 0.5}


def test_server_stopped_mid_use_reads_fall_back_and_writes_report(cache_on: RedisServer) -> None:
    cache = cache_service()
    assert cache.get_or_set("user:u1", lambda: {"v": 1}) == {"v": 1}
    cache_on.stop()
    assert cache.get_or_set("user:u1", lambda: {"v": "from DynamoDB"}) == {"v": "from DynamoDB"}
    for _ in range(3):  # three failures in a row open the breaker
        assert cache.get_or_set("user:u1", lambda: {"v": "again"}) == {"v": "again"}
    assert cache.stats.total["user"].errors == 3  # the fourth and fifth reads skipped the tier
    assert cache.report()["status"] == "unavailable"
    cache_on.start()
