"""Issue 13's data views through the API on moto (and the real redis-server where the cache is on):
dashboard statistics, the active-meetings view, presence, platform settings, the N+1 guards and the
slow-operation log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from agents_meetings.cache import reset_cache_service
from agents_meetings.meetings.active import invalidate_participant_count
from agents_meetings.observability import observe_store_calls
from agents_meetings.presence.service import reset_presence_throttle
from agents_meetings.settings import get_settings, reset_settings
from agents_meetings.statistics.platform import PlatformStatisticsService, reconcile

from tests.conftest import Account, Api, AwsHarness, MakeUser, unique_email
from tests.integration.http_support import assert_error, future

pytestmark = pytest.mark.integration


def apply_events(aws: AwsHarness) -> None:
    """What the platform-statistics worker does with the events published so far (each once)."""
    service = PlatformStatisticsService()
    applied = getattr(aws, "_applied", 0)
    events = aws.events()
    for detail_type, detail in events[applied:]:
        service.apply(str(detail["event_id"]), detail_type, detail)
        if "meeting_id" in detail:  # the worker's invalidation of the count
            invalidate_participant_count(str(detail["meeting_id"]))
    aws._applied = len(events)  # type: ignore[attr-defined]


class StoreCalls:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, store: str, operation: str, target: str, seconds: float) -> None:
        self.calls.append((store, operation, target))

    def count(self, store: str) -> int:
        return sum(1 for call in self.calls if call[0] == store)


@pytest.fixture
def store_calls() -> Iterator[StoreCalls]:
    calls = StoreCalls()
    remove = observe_store_calls(calls)
    yield calls
    remove()


def _meeting(api: Api, headers: dict[str, str], **extra: Any) -> str:
    body = {"title": "Standup", "scheduled_at": future(), **extra}
    response = api.client.post("/api/v1/meetings", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _started_meeting_with(api: Api, host: Account, *guests: Account) -> str:
    meeting_id = _meeting(api, host.headers or {})
    if guests:
        invited = api.client.post(
            f"/api/v1/meetings/{meeting_id}/participants",
            json={"user_ids": [g.id for g in guests]},
            headers=host.headers,
        )
        assert invited.status_code in (200, 201), invited.text
    started = api.client.post(f"/api/v1/meetings/{meeting_id}/start", headers=host.headers)
    assert started.status_code == 200, started.text
    return meeting_id


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_statistics_served_from_cache(
    api: Api, admin: Account, make_user: MakeUser, aws: AwsHarness, cache_on: Any, store_calls: StoreCalls
) -> None:
    host = make_user("host")
    _started_meeting_with(api, host)
    apply_events(aws)
    store_calls.calls.clear()
    first = api.client.get("/api/v1/admin/dashboard/stats", headers=admin.headers)
    assert first.status_code == 200, first.text
    stats = first.json()
    assert stats["users"]["by_role"]["admin"] == 1 and stats["users"]["by_role"]["host"] == 1
    assert stats["users"]["by_status"]["approved"] == 2
    assert stats["meetings"]["by_status"]["active"] == 1 and stats["meetings"]["active_now"] == 1
    # Built from precomputed counters: one BatchGetItem on them, never a scan or a query of a table.
    reads = [c for c in store_calls.calls if c[0] == "dynamodb" and "platform-counters" in c[2]]
    assert [c[1] for c in reads] == ["BatchGetItem"]
    assert not [c for c in store_calls.calls if c[1] in ("Scan", "Query") and "platform-counters" in c[2]]
    # A second meeting changes the counters, yet the dashboard is the cached one (5 minutes).
    _started_meeting_with(api, host)
    apply_events(aws)
    store_calls.calls.clear()
    again = api.client.get("/api/v1/admin/dashboard/stats", headers=admin.headers)
    assert again.json() == stats
    assert not [c for c in store_calls.calls if "platform-counters" in c[2]]
    assert reconcile()["meetings#status#active"] == 2


def test_dashboard_counters_ignore_redelivered_events(api: Api, admin: Account, aws: AwsHarness) -> None:
    service = PlatformStatisticsService()
    detail = {"meeting_id": "m1", "host_id": "h", "title": "t", "scheduled_at": "x", "meeting_type": "regular"}
    assert service.apply("event-1", "MeetingCreated", detail) == {"meetings#status#scheduled": 1}
    assert service.apply("event-1", "MeetingCreated", detail) == {}
    response = api.client.get("/api/v1/admin/dashboard/stats", headers=admin.headers)
    assert response.json()["meetings"]["by_status"]["scheduled"] == 1


def test_dashboard_is_for_admins(make_user: MakeUser, api: Api) -> None:
    user = make_user("participant")
    assert_error(api.client.get("/api/v1/admin/dashboard/stats", headers=user.headers), 403)
    assert_error(api.client.get("/api/v1/admin/dashboard/stats"), 401)


# --- active meetings ---------------------------------------------------------------------------


def test_active_meetings_count_participants_joined_now(
    api: Api, admin: Account, make_user: MakeUser, aws: AwsHarness, cache_on: Any
) -> None:
    host, guest, outsider = make_user("host"), make_user("participant"), make_user("participant")
    meeting_id = _started_meeting_with(api, host, guest)
    _meeting(api, host.headers or {})  # scheduled, not active: never listed

    def active(account: Account) -> list[dict[str, Any]]:
        response = api.client.get("/api/v1/meetings/active", headers=account.headers)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    assert [(m["id"], m["participant_count"]) for m in active(guest)] == [(meeting_id, 0)]
    assert active(outsider) == []
    joined = api.client.post(f"/api/v1/meetings/{meeting_id}/join", json={}, headers=guest.headers)
    assert joined.status_code == 200, joined.text
    apply_events(aws)
    assert [m["participant_count"] for m in active(admin)] == [1]
    left = api.client.post(f"/api/v1/meetings/{meeting_id}/leave", headers=guest.headers)
    assert left.status_code == 200, left.text
    apply_events(aws)
    assert [m["participant_count"] for m in active(host)] == [0]
    ended = api.client.post(f"/api/v1/meetings/{meeting_id}/end", headers=host.headers)
    assert ended.status_code == 200, ended.text
    assert active(admin) == []  # invalidated by the end itself, not by the 30 s TTL


def test_active_meetings_bad_input(api: Api, admin: Account) -> None:
    assert_error(api.client.get("/api/v1/meetings/active?limit=0", headers=admin.headers), 422)
    assert_error(api.client.get("/api/v1/meetings/active?cursor=%%%", headers=admin.headers), 400)


# --- presence ----------------------------------------------------------------------------------


def test_presence_of_people_sharing_a_meeting(api: Api, admin: Account, make_user: MakeUser) -> None:
    reset_presence_throttle()
    host, guest, stranger = make_user("host"), make_user("participant"), make_user("participant")
    _started_meeting_with(api, host, guest)
    assert api.client.get("/api/v1/users/me", headers=guest.headers).status_code == 200
    ids = f"{guest.id},{stranger.id},{host.id}"
    response = api.client.get(f"/api/v1/presence?user_ids={ids}", headers=host.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    # The stranger shares no meeting with the host: left out, whether or not the id exists.
    assert [item["user_id"] for item in items] == [guest.id, host.id]
    assert all(item["online"] for item in items)  # both made authenticated requests just now
    everyone = api.client.get(f"/api/v1/presence?user_ids={ids},unknown-id", headers=admin.headers).json()["items"]
    assert [item["user_id"] for item in everyone] == [guest.id, stranger.id, host.id, "unknown-id"]
    assert everyone[-1] == {"user_id": "unknown-id", "online": False, "last_seen_at": None}


def test_presence_sightings_go_to_redis_with_dynamodb_as_the_durable_record(
    api: Api, admin: Account, make_user: MakeUser, cache_on: Any, store_calls: StoreCalls
) -> None:
    from agents_meetings.tables import UserPresenceModel

    reset_presence_throttle()
    guest = make_user("participant")
    store_calls.calls.clear()
    assert api.client.get("/api/v1/users/me", headers=guest.headers).status_code == 200
    # The first sighting: one Redis SET and the durable record (DynamoDB), once.
    assert ("redis", "set", "seen") in store_calls.calls
    assert [c for c in store_calls.calls if c[0] == "dynamodb" and "presence" in c[2]] != []
    durable = UserPresenceModel.get(guest.id).last_seen_at
    reset_presence_throttle(durable=False)  # a minute later, same container
    store_calls.calls.clear()
    assert api.client.get("/api/v1/users/me", headers=guest.headers).status_code == 200
    assert ("redis", "set", "seen") in store_calls.calls
    assert not [c for c in store_calls.calls if c[0] == "dynamodb"], store_calls.calls  # Redis only now
    seen = redis.Redis(host="127.0.0.1", port=cache_on.port, decode_responses=True).get(f"seen:{guest.id}")
    assert seen is not None and seen > durable.isoformat()
    items = api.client.get(f"/api/v1/presence?user_ids={guest.id}", headers=admin.headers).json()["items"]
    assert items[0]["online"] is True
    assert items[0]["last_seen_at"].replace("Z", "+00:00")[:19] == seen[:19]  # the later one: Redis's

    # Redis down: the sighting is the DynamoDB write again, and presence still answers from it.
    cache_on.stop()
    reset_presence_throttle()
    store_calls.calls.clear()
    assert api.client.get("/api/v1/users/me", headers=guest.headers).status_code == 200
    assert [c for c in store_calls.calls if c[0] == "dynamodb" and "presence" in c[2]] != []
    items = api.client.get(f"/api/v1/presence?user_ids={guest.id}", headers=admin.headers).json()["items"]
    assert items[0]["online"] is True


def test_presence_bad_input(api: Api, admin: Account) -> None:
    too_many = ",".join(f"user-{n}" for n in range(101))
    assert_error(
        api.client.get(f"/api/v1/presence?user_ids={too_many}", headers=admin.headers), 422, "too_many_user_ids"
    )
    assert_error(api.client.get("/api/v1/presence?user_ids=a,,b", headers=admin.headers), 422, "invalid_user_ids")
    assert_error(api.client.get("/api/v1/presence?user_ids=a%20b", headers=admin.headers), 422, "invalid_user_ids")
    assert_error(api.client.get("/api/v1/presence", headers=admin.headers), 422)
    assert_error(api.client.get("/api/v1/presence?user_ids=a"), 401)


# --- platform settings -------------------------------------------------------------------------


def test_platform_settings_applied_audited_and_invalidated(
    api: Api, admin: Account, make_user: MakeUser, cache_on: Any
) -> None:
    current = api.client.get("/api/v1/admin/settings", headers=admin.headers)
    assert current.status_code == 200 and current.json()["registration_open"] is True
    body = {
        "registration_open": False,
        "default_meeting_languages": ["es", "en"],
        "maintenance_banner": "Maintenance on Saturday",
        "expected_version": current.json()["version"],
    }
    saved = api.client.put("/api/v1/admin/settings", json=body, headers=admin.headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    # Applied at once: registration refused, new meetings get the default languages, the banner shows.
    assert_error(api.register(unique_email()), 403, "registration_closed")
    host = make_user  # noqa: F841 - registration is closed: accounts come from admins only now
    health = api.client.get("/api/v1/health").json()
    assert health["maintenance_banner"] == "Maintenance on Saturday" and health["registration_open"] is False
    meeting = api.client.post("/api/v1/meetings", json={"title": "T", "scheduled_at": future()}, headers=admin.headers)
    assert meeting.json()["languages"] == ["es", "en"]
    stale = api.client.put("/api/v1/admin/settings", json=body, headers=admin.headers)
    assert_error(stale, 409, "concurrent_update")
    audit = api.client.get("/api/v1/admin/audit-logs?limit=100", headers=admin.headers)
    assert audit.status_code == 200, audit.text
    entry = next(item for item in audit.json()["items"] if item["action"] == "platform.settings_changed")
    assert entry["details"]["after"]["registration_open"] is False


def test_platform_settings_bad_input(api: Api, admin: Account, make_user: MakeUser) -> None:
    good = {"registration_open": True, "default_meeting_languages": ["en"], "maintenance_banner": None}
    put = lambda body: api.client.put("/api/v1/admin/settings", json=body, headers=admin.headers)  # noqa: E731
    assert_error(put({**good, "colour": "blue"}), 422)
    assert_error(put({**good, "registration_open": "yes"}), 422)
    assert_error(put({**good, "default_meeting_languages": []}), 422)
    assert_error(put({**good, "default_meeting_languages": ["english!"]}), 422)
    assert_error(put({**good, "maintenance_banner": "line\nbreak"}), 422)
    assert_error(put({**good, "expected_version": "1"}), 422)
    user = make_user("participant")
    assert_error(api.client.put("/api/v1/admin/settings", json=good, headers=user.headers), 403)


# --- N+1 guards (spec 2.2) ---------------------------------------------------------------------


@pytest.fixture(params=["cache off", "cache on"])
def cache_mode(request: pytest.FixtureRequest) -> str:
    """Each N+1 guard twice: DynamoDB alone, then with the cache on the real redis-server (its calls
    counted through the same hook, ``record_store_call``)."""
    if request.param == "cache on":
        request.getfixturevalue("cache_on")
    return str(request.param)


def _cold_cache(cache_mode: str) -> None:
    """With the cache on: empty both tiers, so the request measured is the fill (where an N+1 would
    be), not a hit that hides it."""
    if cache_mode == "cache on":
        redis.Redis(host="127.0.0.1", port=get_settings().redis_port).flushdb()
        reset_cache_service()


def _calls_for(store_calls: StoreCalls, request: Any, cache_mode: str = "cache off") -> int:
    _cold_cache(cache_mode)
    store_calls.calls.clear()
    response = request()
    assert response.status_code == 200, response.text
    return store_calls.count("dynamodb") + store_calls.count("redis")


def test_no_n_plus_one_in_active_meetings(
    api: Api, admin: Account, make_user: MakeUser, aws: AwsHarness, store_calls: StoreCalls, cache_mode: str
) -> None:
    host = make_user("host")
    guest = make_user("participant")
    listing = lambda: api.client.get("/api/v1/meetings/active?limit=100", headers=guest.headers)  # noqa: E731
    _started_meeting_with(api, host, guest)
    listing()  # the caller's first sighting (presence) and the cache's first fill are not the listing's
    one = _calls_for(store_calls, listing, cache_mode)
    for _ in range(19):
        _started_meeting_with(api, host, guest)
    twenty = _calls_for(store_calls, listing, cache_mode)
    assert (store_calls.count("redis") > 0) == (cache_mode == "cache on"), store_calls.calls  # counted
    assert len(listing().json()["items"]) == 20
    assert twenty == one, list(store_calls.calls)


def test_no_n_plus_one_in_presence(
    api: Api, admin: Account, make_user: MakeUser, store_calls: StoreCalls, cache_mode: str
) -> None:
    host = make_user("host")
    guests = [make_user("participant") for _ in range(20)]
    _started_meeting_with(api, host, *guests)
    one = _calls_for(
        store_calls,
        lambda: api.client.get(f"/api/v1/presence?user_ids={guests[0].id}", headers=host.headers),
        cache_mode,
    )
    ids = ",".join(g.id for g in guests)
    twenty = _calls_for(
        store_calls, lambda: api.client.get(f"/api/v1/presence?user_ids={ids}", headers=host.headers), cache_mode
    )
    assert (store_calls.count("redis") > 0) == (cache_mode == "cache on"), store_calls.calls  # counted
    assert twenty == one, store_calls.calls


def test_no_n_plus_one_in_meeting_lists(
    api: Api, admin: Account, make_user: MakeUser, store_calls: StoreCalls, cache_mode: str
) -> None:
    host = make_user("host")
    listing = lambda: api.client.get("/api/v1/meetings?limit=50", headers=host.headers)  # noqa: E731
    _meeting(api, host.headers or {})
    one = _calls_for(store_calls, listing, cache_mode)
    for _ in range(19):
        _meeting(api, host.headers or {})
    twenty = _calls_for(store_calls, listing, cache_mode)
    assert (store_calls.count("redis") > 0) == (cache_mode == "cache on"), store_calls.calls  # counted
    assert twenty == one, store_calls.calls


# --- slow-operation log ------------------------------------------------------------------------


def test_slow_dynamodb_operations_are_logged_and_counted(
    api: Api, admin: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLOW_QUERY_MS", "0")
    reset_settings()
    capsys.readouterr()
    api.client.get("/api/v1/meetings/active", headers=admin.headers)
    out = capsys.readouterr().out
    assert '"store":"dynamodb"' in out and '"operation":"Query"' in out and "meetings" in out
    assert '"SlowStoreOperation"' in out
    monkeypatch.setenv("SLOW_QUERY_MS", "100000")
    reset_settings()
    capsys.readouterr()
    api.client.get("/api/v1/meetings/active", headers=admin.headers)
    assert "slow data-store operation" not in capsys.readouterr().out


def test_slow_redis_calls_are_logged_and_counted(
    api: Api, admin: Account, cache_on: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLOW_QUERY_MS", "0")
    reset_settings()
    capsys.readouterr()
    assert api.client.get("/api/v1/users/me", headers=admin.headers).status_code == 200
    out = capsys.readouterr().out
    # The auth pipeline (deny list, user, session): one round trip, logged by its key prefixes.
    assert '"store":"redis"' in out and '"operation":"get"' in out and "deny,session,user" in out, out
    assert '"SlowStoreOperation"' in out
    monkeypatch.setenv("SLOW_QUERY_MS", "100000")
    reset_settings()
    capsys.readouterr()
    api.client.get("/api/v1/users/me", headers=admin.headers)
    assert "slow data-store operation" not in capsys.readouterr().out
