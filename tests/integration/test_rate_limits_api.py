"""Spec 2.3 through the API (moto DynamoDB): tiers, special limits, headers, 429s, admin changes,
the allow-list, failing open, one DynamoDB call per decision and exactness under concurrency."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from agents_meetings.ratelimit import service as rate_limit_module
from agents_meetings.ratelimit.rules import Rate
from agents_meetings.ratelimit.service import RateLimitService, rate_limit_service, reset_rate_limiting
from agents_meetings.ratelimit.store import DynamoDBCounterStore, MemoryCounterStore
from agents_meetings.settings import get_settings, reset_settings
from agents_meetings.tables import RateLimitConfigModel, RateLimitCounterModel
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient
from http_support import assert_error
from moto.core.botocore_stubber import BotocoreStubber

pytestmark = pytest.mark.integration

LIMITS = "/api/v1/admin/rate-limits"
ME = "/api/v1/users/me"
LOGIN = "/api/v1/auth/login"
HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
TIER_LIMITS = {"participant": 200, "host": 500, "teacher": 500, "admin": 1000}


@pytest.fixture
def rate_limiting(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Rate limiting is off in the test environment; ``on()`` turns it on (after a test has
    registered its users: registration itself is limited to 3 per hour per IP)."""

    def on() -> None:
        monkeypatch.setenv("RATE_LIMIT_ENABLED", "true")
        reset_settings()
        reset_rate_limiting()
        assert get_settings().rate_limit_enabled

    yield on
    reset_rate_limiting()


@pytest.fixture
def serialised_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB answers each request atomically; in-process moto is not thread-safe: one at a time."""
    lock = threading.RLock()
    original = BotocoreStubber.__call__

    def one_request_at_a_time(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", one_request_at_a_time)


def from_ip(app: Any, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 40000))


def set_limit(client: Any, admin: Any, name: str, rate: str) -> None:
    response = client.put(f"{LIMITS}/limits/{name}", json={"rate": rate}, headers=admin.headers)
    assert response.status_code == 200, response.text


def aligned_instant(clock: Any, period: int, offset: int) -> datetime:
    """Move the frozen clock forward to ``offset`` seconds into a window of ``period`` seconds."""
    start = math.ceil(clock.now.timestamp() / period) * period + period
    clock.now = datetime.fromtimestamp(start + offset, UTC)
    return clock.now


# --- acceptance criteria ------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(TIER_LIMITS))
def test_rate_limits_are_enforced_correctly_per_tier(
    client: Any, make_user: Any, admin: Any, rate_limiting: Any, role: str
) -> None:
    user = admin if role == "admin" else make_user(role)
    rate_limiting()
    first = client.get(ME, headers=user.headers)
    assert first.status_code == 200, first.text
    assert int(first.headers["X-RateLimit-Limit"]) == TIER_LIMITS[role]
    assert int(first.headers["X-RateLimit-Remaining"]) == TIER_LIMITS[role] - 1


def test_rate_limits_are_enforced_correctly_for_anonymous_callers_per_ip(app: Any, rate_limiting: Any) -> None:
    rate_limiting()
    with from_ip(app, "198.51.100.1") as first, from_ip(app, "198.51.100.2") as second:
        answers = [first.get("/api/v1/nowhere").status_code for _ in range(11)]
        assert answers == [404] * 10 + [429]
        # Another IP has its own budget.
        other = second.get("/api/v1/nowhere")
        assert other.status_code == 404 and other.headers["X-RateLimit-Remaining"] == "9"


def test_rate_limits_are_enforced_correctly_per_user(
    client: Any, make_user: Any, admin: Any, rate_limiting: Any
) -> None:
    one, two, host = make_user(), make_user(), make_user("host")
    rate_limiting()
    set_limit(client, admin, "participant", "3/minute")
    assert [client.get(ME, headers=one.headers).status_code for _ in range(4)] == [200, 200, 200, 429]
    # Same IP, other user: its own budget; other tiers untouched.
    assert client.get(ME, headers=two.headers).status_code == 200
    assert client.get(ME, headers=host.headers).headers["X-RateLimit-Limit"] == "500"


def test_login_is_limited_to_5_per_15_minutes_per_ip_and_retry_after_is_accurate(
    app: Any, make_user: Any, rate_limiting: Any, frozen_clock: Any
) -> None:
    user = make_user()
    rate_limiting()
    aligned_instant(frozen_clock, 900, offset=100)
    with from_ip(app, "198.51.100.7") as client, from_ip(app, "198.51.100.8") as elsewhere:
        wrong = {"email": user.email, "password": "not the password"}
        assert [client.post(LOGIN, json=wrong).status_code for _ in range(5)] == [401] * 5
        refused = client.post(LOGIN, json={"email": user.email, "password": user.password})
        error = assert_error(refused, 429, "rate_limited")
        # Sliding window: 800 s to this window's end, then the 5 requests weigh 5 x (1 - f); one more
        # fits once 5 x (1 - f) + 1 <= 5, i.e. f = 1/5 of the next 900 s window: 180 s.
        assert refused.headers["Retry-After"] == str(800 + 180)
        assert error["details"]["retry_after_seconds"] == 980
        assert int(refused.headers["X-RateLimit-Reset"]) == int(frozen_clock.now.timestamp()) + 980
        # Another IP is not affected.
        assert elsewhere.post(LOGIN, json={"email": user.email, "password": user.password}).status_code == 200
        # One second early there is still no room (read without taking: a refused request counts).
        frozen_clock.advance(seconds=979)
        assert rate_limit_service("dynamodb").get_remaining("ip:198.51.100.7", "login") == 0
        frozen_clock.advance(seconds=1)
        assert client.post(LOGIN, json={"email": user.email, "password": user.password}).status_code == 200


def test_error_messages_clearly_explain_limits(app: Any, rate_limiting: Any, frozen_clock: Any) -> None:
    rate_limiting()
    aligned_instant(frozen_clock, 900, offset=0)
    with from_ip(app, "198.51.100.9") as client:
        for _ in range(5):
            client.post(LOGIN, json={"email": "nobody@example.com", "password": "x"})
        error = assert_error(client.post(LOGIN, json={"email": "nobody@example.com", "password": "x"}), 429)
    assert error["code"] == "rate_limited"
    assert "login limit allows 5 requests per 15 minutes" in error["message"]
    assert f"resets at {error['details']['resets_at']}" in error["message"]
    assert error["details"]["resets_at"].endswith("Z")
    assert error["details"] | {} == {
        "limit_name": "login",
        "limit": 5,
        "period_seconds": 900,
        "retry_after_seconds": error["details"]["retry_after_seconds"],
        "resets_at": error["details"]["resets_at"],
    }


def test_rate_limit_headers_are_on_every_response_including_errors(
    client: Any, make_user: Any, rate_limiting: Any
) -> None:
    user = make_user()
    rate_limiting()
    responses = [
        client.get(ME, headers=user.headers),  # 200
        client.get(ME),  # 401
        client.get("/api/v1/no-such-route", headers=user.headers),  # 404
        client.patch(ME, json={"timezone": 5}, headers=user.headers),  # 422
        client.get(f"{LIMITS}", headers=user.headers),  # 403
    ]
    assert [r.status_code for r in responses] == [200, 401, 404, 422, 403]
    for response in responses:
        assert all(header in response.headers for header in HEADERS), (response.status_code, response.headers)
        assert int(response.headers["X-RateLimit-Reset"]) > datetime.now(UTC).timestamp() - 1
    user_remaining = [
        int(r.headers["X-RateLimit-Remaining"]) for r in responses if r.headers["X-RateLimit-Limit"] == "200"
    ]
    assert user_remaining == sorted(user_remaining, reverse=True) and len(set(user_remaining)) == len(user_remaining)


def test_rate_limit_does_not_affect_legitimate_users(
    client: Any, make_user: Any, admin: Any, rate_limiting: Any
) -> None:
    abuser, legitimate = make_user(), make_user()
    rate_limiting()
    set_limit(client, admin, "participant", "20/minute")
    while client.get(ME, headers=abuser.headers).status_code != 429:
        pass
    answers = [client.get(ME, headers=legitimate.headers).status_code for _ in range(20)]
    assert answers == [200] * 20


def test_admin_can_view_and_adjust_rate_limits_at_run_time_and_changes_are_audited(
    client: Any, make_user: Any, admin: Any, rate_limiting: Any
) -> None:
    user = make_user()
    rate_limiting()
    view = client.get(LIMITS, headers=admin.headers)
    assert view.status_code == 200, view.text
    limits = {item["name"]: item for item in view.json()["limits"]}
    assert {name: item["rate"] for name, item in limits.items()} == {
        "anonymous": "10/minute",
        "authenticated": "100/minute",
        "participant": "200/minute",
        "host": "500/minute",
        "admin": "1000/minute",
        "login": "5/15minutes",
        "registration": "3/hour",
        "file_upload": "10/hour",
        "meeting_creation": "20/hour",
    }
    assert view.json()["enabled"] is True and view.json()["allow_list"] == []

    set_limit(client, admin, "participant", "2/minute")
    assert client.get(ME, headers=user.headers).headers["X-RateLimit-Limit"] == "2"
    assert client.get(ME, headers=user.headers).status_code == 200
    assert_error(client.get(ME, headers=user.headers), 429, "rate_limited")
    # The count can be reset for one caller.
    reset = client.post(
        f"{LIMITS}/reset", json={"limit": "participant", "caller": f"user:{user.id}"}, headers=admin.headers
    )
    assert reset.status_code == 204, reset.text
    assert client.get(ME, headers=user.headers).status_code == 200

    audit = client.get("/api/v1/admin/audit-logs?target_id=participant&limit=10", headers=admin.headers).json()
    actions = [(entry["action"], entry["actor_id"]) for entry in audit["items"]]
    assert ("rate_limit.changed", admin.id) in actions and ("rate_limit.counter_reset", admin.id) in actions
    changed = next(entry for entry in audit["items"] if entry["action"] == "rate_limit.changed")
    assert changed["details"] == {"from": "200/minute", "to": "2/minute", "shards": 1}

    # Back to the default; non-admins may not look or touch.
    assert client.delete(f"{LIMITS}/limits/participant", headers=admin.headers).status_code == 200
    assert_error(client.get(LIMITS, headers=user.headers), 403)
    assert_error(client.put(f"{LIMITS}/limits/participant", json={"rate": "9/minute"}, headers=user.headers), 403)
    assert_error(client.put(f"{LIMITS}/limits/participant", json={"rate": "lots"}, headers=admin.headers), 422)
    assert_error(client.put(f"{LIMITS}/limits/nobody", json={"rate": "1/minute"}, headers=admin.headers), 422)


def test_allow_listed_ip_bypasses_rate_limits(app: Any, client: Any, admin: Any, rate_limiting: Any) -> None:
    rate_limiting()
    added = client.put(
        f"{LIMITS}/allow-list", json={"network": "198.51.100.7/24", "note": "probe"}, headers=admin.headers
    )
    assert added.status_code == 200, added.text
    assert added.json()["allow_list"] == [{"network": "198.51.100.0/24", "note": "probe"}]
    with from_ip(app, "198.51.100.42") as allowed, from_ip(app, "192.0.2.1") as other:
        answers = [allowed.get("/api/v1/nowhere") for _ in range(15)]
        assert {r.status_code for r in answers} == {404}
        assert "X-RateLimit-Limit" not in answers[0].headers
        assert [other.get("/api/v1/nowhere").status_code for _ in range(11)][-1] == 429
        removed = client.delete(f"{LIMITS}/allow-list?network=198.51.100.0/24", headers=admin.headers)
        assert removed.status_code == 200 and removed.json()["allow_list"] == []
        assert [allowed.get("/api/v1/nowhere").status_code for _ in range(11)][-1] == 429
    assert_error(client.delete(f"{LIMITS}/allow-list?network=198.51.100.0/24", headers=admin.headers), 404)
    assert_error(
        client.put(f"{LIMITS}/allow-list", json={"network": "not-an-ip"}, headers=admin.headers), 400, "invalid_network"
    )
    audit = client.get("/api/v1/admin/audit-logs?target_id=198.51.100.0/24&limit=10", headers=admin.headers)
    assert {e["action"] for e in audit.json()["items"]} == {"rate_limit.allow_listed", "rate_limit.allow_list_removed"}


def test_requests_are_allowed_when_the_counter_store_fails(
    client: Any, make_user: Any, rate_limiting: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user()
    rate_limiting()
    recorded: list[str] = []

    class FailingClient:
        def update_item(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "UpdateItem")

    monkeypatch.setattr(DynamoDBCounterStore, "_client_and_table", lambda self: (FailingClient(), "t"))
    monkeypatch.setattr(rate_limit_module.metrics, "add_metric", lambda name, **_: recorded.append(name))
    for _ in range(3):
        response = client.get(ME, headers=user.headers)
        assert response.status_code == 200, response.text
    assert recorded == ["RateLimitStoreErrors"] * 3


def test_a_failing_limiter_never_answers_500(
    client: Any, make_user: Any, rate_limiting: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user()
    rate_limiting()

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(RateLimitService, "check_rate_limit", broken)
    monkeypatch.setattr(rate_limit_module.metrics, "add_metric", lambda *_, **__: None)
    assert client.get(ME, headers=user.headers).status_code == 200


def test_each_decision_makes_exactly_one_dynamodb_call(app: Any, make_user: Any, rate_limiting: Any) -> None:
    make_user()
    rate_limiting()
    dynamodb = RateLimitCounterModel._get_connection().connection.client
    calls: list[tuple[str, str]] = []

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params.get("TableName", "")))

    dynamodb.meta.events.register("provide-client-params.dynamodb.*", count)
    try:
        with from_ip(app, "192.0.2.50") as client:
            client.get("/api/v1/nowhere")  # loads (and caches) the configuration
            calls.clear()
            for _ in range(5):
                assert client.get("/api/v1/nowhere").status_code == 404
    finally:
        dynamodb.meta.events.unregister("provide-client-params.dynamodb.*", count)
    assert calls == [("UpdateItem", RateLimitCounterModel.Meta.table_name)] * 5
    assert not any(table == RateLimitConfigModel.Meta.table_name for _, table in calls)


def test_concurrent_requests_allow_exactly_the_limit(aws: Any, rate_limiting: Any, serialised_moto: None) -> None:
    rate_limiting()
    service = rate_limit_service("dynamodb")
    limit, callers = 7, 40

    def one(_: int) -> bool:
        return service.check_rate_limit("ip:192.0.2.9", "anonymous", Rate(limit, 3600)).allowed

    with ThreadPoolExecutor(max_workers=16) as pool:
        allowed = list(pool.map(one, range(callers)))
    assert allowed.count(True) == limit


def test_concurrent_requests_allow_exactly_the_limit_in_memory(aws: Any) -> None:
    service = RateLimitService(MemoryCounterStore())

    with ThreadPoolExecutor(max_workers=16) as pool:
        allowed = list(pool.map(lambda _: service.check_rate_limit("u", "admin", Rate(9, 3600)).allowed, range(50)))
    assert allowed.count(True) == 9


def test_service_operations_count_report_and_reset(aws: Any, frozen_clock: Any) -> None:
    aligned_instant(frozen_clock, 60, offset=0)
    service = RateLimitService(DynamoDBCounterStore())
    assert service.increment_counter("user:a", "participant") == 1
    assert service.check_rate_limit("user:a", "participant").remaining == 198
    assert service.get_remaining("user:a", "participant") == 198
    service.reset_counter("user:a", "participant")
    assert service.get_remaining("user:a", "participant") == 200
    assert RateLimitCounterModel.count("participant#user:a") == 0


def test_counter_items_carry_a_ttl(aws: Any, frozen_clock: Any) -> None:
    now = aligned_instant(frozen_clock, 60, offset=30)
    RateLimitService(DynamoDBCounterStore()).check_rate_limit("user:b", "participant")
    item = RateLimitCounterModel.get("participant#user:b")
    assert item.expires_at is not None
    assert item.expires_at.timestamp() == now.timestamp() - 30 + 120 + 60
