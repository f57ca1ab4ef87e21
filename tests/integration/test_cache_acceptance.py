"""Spec 2.1's acceptance criteria, through the API against the real redis-server (``cache_on``):
hit rate, invalidation on update (from another instance too), a Redis failover that never fails a
request, and the metrics; plus the security state that stays authoritative and the warm GET's cost."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from agents_meetings.cache import cache_service, reset_cache_service
from emf_support import emf_fixture  # noqa: F401
from fastapi.testclient import TestClient
from http_support import future
from pynamodb.connection.base import Connection

from infra.local.redis_server import RedisServer

pytestmark = pytest.mark.integration

ME = "/api/v1/users/me"
MEETINGS = "/api/v1/meetings"
STATS = "/api/v1/admin/cache/stats"


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every DynamoDB operation the platform sends, by name (pynamodb's one entry point)."""
    calls: Counter[str] = Counter()
    original = Connection._make_api_call

    def counted(self: Connection, operation_name: str, *args: Any, **kwargs: Any) -> Any:
        calls[operation_name] += 1
        return original(self, operation_name, *args, **kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counted)
    yield calls


def another_instance() -> None:
    """What a second warm container sees: the same Redis, an empty in-process tier."""
    reset_cache_service()


def test_cache_hit_rate_over_70_percent_for_user_profiles(
    cache_on: RedisServer, client: TestClient, make_user: Any
) -> None:
    users = [make_user() for _ in range(8)]
    before = cache_service().stats.total["user"]
    hits0, misses0 = before.hits + before.local_hits, before.misses
    rng = random.Random(7)
    weights = [1 / (rank + 1) for rank in range(len(users))]  # Zipf: a few users make most requests
    for user in rng.choices(users, weights=weights, k=120):
        assert client.get(ME, headers=user.headers).status_code == 200
    counts = cache_service().stats.total["user"]
    hits, misses = counts.hits + counts.local_hits - hits0, counts.misses - misses0
    assert hits / (hits + misses) > 0.70, (hits, misses)


def test_cache_invalidation_works_correctly_on_updates(
    cache_on: RedisServer, client: TestClient, make_user: Any
) -> None:
    host = make_user("host")
    assert client.get(ME, headers=host.headers).json()["full_name"] == "Test User"  # cached now
    patched = client.patch(ME, json={"full_name": "Renamed Host"}, headers=host.headers)
    assert patched.status_code == 200, patched.text
    assert client.get(ME, headers=host.headers).json()["full_name"] == "Renamed Host"
    another_instance()
    assert client.get(ME, headers=host.headers).json()["full_name"] == "Renamed Host"

    created = client.post(MEETINGS, json={"title": "Before", "scheduled_at": future()}, headers=host.headers)
    assert created.status_code == 201, created.text
    meeting = f"{MEETINGS}/{created.json()['id']}"
    assert client.get(meeting, headers=host.headers).json()["title"] == "Before"
    another_instance()
    assert client.get(meeting, headers=host.headers).json()["title"] == "Before"  # from Redis
    assert client.patch(meeting, json={"title": "After"}, headers=host.headers).status_code == 200
    another_instance()
    assert client.get(meeting, headers=host.headers).json()["title"] == "After"


def test_revoked_tokens_ended_sessions_and_deactivated_users_are_refused_at_once(
    cache_on: RedisServer, client: TestClient, make_user: Any, admin_headers: dict[str, str]
) -> None:
    leaving, deactivated = make_user(), make_user()
    for account in (leaving, deactivated):
        assert client.get(ME, headers=account.headers).status_code == 200  # all of it cached
        assert client.get(ME, headers=account.headers).status_code == 200
    logout = client.post(
        "/api/v1/auth/logout", json={"refresh_token": leaving.tokens["refresh_token"]}, headers=leaving.headers
    )
    assert logout.status_code in (200, 204), logout.text
    assert client.get(ME, headers=leaving.headers).status_code == 401
    off = client.post(f"/api/v1/admin/users/{deactivated.id}/deactivate", headers=admin_headers)
    assert off.status_code == 200, off.text
    assert client.get(ME, headers=deactivated.headers).status_code in (401, 403)


def test_a_warm_authenticated_get_reads_nothing_from_dynamodb(
    cache_on: RedisServer, client: TestClient, make_user: Any, dynamodb_calls: Counter[str]
) -> None:
    user = make_user()
    client.get(ME, headers=user.headers)
    client.get(ME, headers=user.headers)
    dynamodb_calls.clear()
    assert client.get(ME, headers=user.headers).status_code == 200
    assert sum(dynamodb_calls.values()) == 0, dynamodb_calls  # rate limiting is off in these tests


def test_a_warm_meeting_get_is_one_shared_cache_round_trip(
    cache_on: RedisServer, client: TestClient, make_user: Any, dynamodb_calls: Counter[str]
) -> None:
    """The meeting is prefetched in the authentication's pipeline (its id is in the route's path)."""
    from agents_meetings.observability import observe_store_calls

    host = make_user("host")
    created = client.post(MEETINGS, json={"title": "Warm", "scheduled_at": future()}, headers=host.headers)
    meeting = f"{MEETINGS}/{created.json()['id']}"
    client.get(meeting, headers=host.headers)
    client.get(meeting, headers=host.headers)
    redis_calls: list[tuple[str, str]] = []
    remove = observe_store_calls(
        lambda store, operation, target, seconds: redis_calls.append((operation, target)) if store == "redis" else None
    )
    dynamodb_calls.clear()
    try:
        assert client.get(meeting, headers=host.headers).json()["title"] == "Warm"
    finally:
        remove()
    assert redis_calls == [("get", "deny,meeting,member,session,user")], redis_calls
    assert sum(dynamodb_calls.values()) == 0, dynamodb_calls
    assert client.patch(meeting, json={"title": "Patched"}, headers=host.headers).status_code == 200
    assert client.get(meeting, headers=host.headers).json()["title"] == "Patched"


def test_a_participants_warm_meeting_get_is_one_round_trip_and_an_invitation_is_never_hidden(
    cache_on: RedisServer, client: TestClient, make_user: Any, dynamodb_calls: Counter[str]
) -> None:
    """A participant's read checks its membership: prefetched too, and only a yes is cached."""
    from agents_meetings.observability import observe_store_calls

    host, guest = make_user("host"), make_user()
    created = client.post(MEETINGS, json={"title": "Members", "scheduled_at": future()}, headers=host.headers)
    meeting_id = created.json()["id"]
    meeting = f"{MEETINGS}/{meeting_id}"
    assert client.get(meeting, headers=guest.headers).status_code == 404  # not invited: a no, not cached
    invited = client.post(f"{meeting}/participants", json={"user_ids": [guest.id]}, headers=host.headers)
    assert invited.status_code in (200, 201), invited.text
    assert client.get(meeting, headers=guest.headers).status_code == 200  # seen at once
    client.get(meeting, headers=guest.headers)
    redis_calls: list[str] = []
    remove = observe_store_calls(
        lambda store, operation, target, seconds: redis_calls.append(target) if store == "redis" else None
    )
    dynamodb_calls.clear()
    try:
        assert client.get(meeting, headers=guest.headers).json()["title"] == "Members"
    finally:
        remove()
    assert redis_calls == ["deny,meeting,member,session,user"], redis_calls
    assert sum(dynamodb_calls.values()) == 0, dynamodb_calls


def test_redis_failover_does_not_crash_application(
    cache_on: RedisServer, client: TestClient, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user("host")
    assert client.get(ME, headers=user.headers).status_code == 200
    cache_on.stop()
    for _ in range(5):
        assert client.get(ME, headers=user.headers).status_code == 200
    assert client.patch(ME, json={"full_name": "During Outage"}, headers=user.headers).status_code == 200
    assert client.get(ME, headers=user.headers).json()["full_name"] == "During Outage"
    assert cache_service().stats.total["user"].errors >= 1
    assert any("cache unavailable" in record.getMessage() for record in caplog.records)
    cache_on.start()  # back, empty (no persistence): reads fill it again
    cache_service().breaker.success()
    assert client.get(ME, headers=user.headers).json()["full_name"] == "During Outage"


def test_cache_metrics_are_visible_in_monitoring(
    cache_on: RedisServer, client: TestClient, make_user: Any, admin_headers: dict[str, str], emf: Any
) -> None:
    user = make_user()
    emf.take()
    client.get(ME, headers=user.headers)
    client.get(ME, headers=user.headers)
    emitted = emf.take()
    by_name = {(m.name, m.dimensions.get("KeyPrefix")) for m in emitted}
    assert ("CacheHits", "user") in by_name and ("CacheMisses", "session") in by_name
    assert ("CacheLatency", "user") in by_name
    stats = client.get(STATS, headers=admin_headers)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["backend"] == "redis" and body["status"] == "ok"
    assert body["by_prefix"]["user"]["hits"] >= 1 and 0 < body["hit_rate"] <= 1
    assert body["memory_bytes"] > 0


def test_cache_stats_are_for_admins_only(cache_on: RedisServer, client: TestClient, make_user: Any) -> None:
    assert client.get(STATS).status_code == 401
    assert client.get(STATS, headers=make_user().headers).status_code == 403


def test_conditional_gets_get_304_until_the_resource_changes(
    cache_on: RedisServer, client: TestClient, make_user: Any
) -> None:
    user, other = make_user(), make_user()
    first = client.get(ME, headers=user.headers)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    unchanged = client.get(ME, headers={**user.headers, "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    # Another caller's answer is their own: the same tag does not match it.
    assert client.get(ME, headers={**other.headers, "If-None-Match": etag}).status_code == 200
    assert client.patch(ME, json={"full_name": "Changed"}, headers=user.headers).status_code == 200
    changed = client.get(ME, headers={**user.headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["full_name"] == "Changed"
    assert changed.headers["ETag"] != etag
