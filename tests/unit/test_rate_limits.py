"""Rate limiting (spec 2.3) without AWS: the rate format, tiers and routes, the sliding-window math."""

from __future__ import annotations

import pytest
from agents_meetings.ratelimit.rules import (
    Rate,
    default_rates,
    is_allowed,
    next_allowed_at,
    parse_rate,
    remaining,
    retry_after_seconds,
    special_route,
    tier_for_role,
    weighted_count,
    window_index,
)
from agents_meetings.ratelimit.service import RateLimitService
from agents_meetings.ratelimit.store import MemoryCounterStore
from agents_meetings.settings import Settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("100/minute", Rate(100, 60)),
        ("5/15minutes", Rate(5, 900)),
        ("3/hour", Rate(3, 3600)),
        ("10 per 2 hours", Rate(10, 7200)),
        ("1000/min", Rate(1000, 60)),
        ("7/30s", Rate(7, 30)),
        ("20/day", Rate(20, 86_400)),
    ],
)
def test_spec_rate_format_is_parsed(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "lots", "5/fortnight", "0/minute", "5/0minutes", "-1/minute", "/minute"])
def test_malformed_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


@pytest.mark.parametrize("rate", [Rate(100, 60), Rate(5, 900), Rate(3, 3600), Rate(7, 45)])
def test_rates_print_in_the_format_they_parse_from(rate: Rate) -> None:
    assert parse_rate(str(rate)) == rate


def test_defaults_are_the_spec_tiers_and_special_limits_and_read_the_settings() -> None:
    rates = default_rates(Settings(RATE_LIMIT_DEFAULT="150/minute", RATE_LIMIT_LOGIN="6/10minutes"))
    assert rates == {
        "anonymous": Rate(10, 60),
        "authenticated": Rate(150, 60),
        "participant": Rate(200, 60),
        "host": Rate(500, 60),
        "admin": Rate(1000, 60),
        "login": Rate(6, 600),
        "registration": Rate(3, 3600),
        "file_upload": Rate(10, 3600),
        "meeting_creation": Rate(20, 3600),
    }
    # The spec's defaults (the test environment turns RATE_LIMIT_ENABLED off).
    defaults = {name: field.default for name, field in Settings.model_fields.items() if name.startswith("rate_limit")}
    assert defaults == {
        "rate_limit_enabled": True,
        "rate_limit_storage": "dynamodb",
        "rate_limit_default": "100/minute",
        "rate_limit_login": "5/15minutes",
    }


@pytest.mark.parametrize(
    ("role", "tier"),
    [
        (None, "anonymous"),
        ("", "authenticated"),
        ("participant", "participant"),
        ("host", "host"),
        ("teacher", "host"),
        ("admin", "admin"),
        ("auditor", "authenticated"),
    ],
)
def test_tier_is_chosen_by_role(role: str | None, tier: str) -> None:
    assert tier_for_role(role) == tier


@pytest.mark.parametrize(
    ("method", "path", "name", "scope"),
    [
        ("POST", "/api/v1/auth/login", "login", "ip"),
        ("POST", "/api/v1/auth/register", "registration", "ip"),
        ("POST", "/api/v1/meetings", "meeting_creation", "user"),
        ("POST", "/api/v1/meetings/abc/materials", "file_upload", "user"),
        ("POST", "/api/v1/recordings/uploads", "file_upload", "user"),
        ("POST", "/api/v1/materials", "file_upload", "user"),
    ],
)
def test_special_limits_match_their_routes(method: str, path: str, name: str, scope: str) -> None:
    route = special_route(method, path)
    assert route is not None and (route.name, route.scope) == (name, scope)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/auth/login"), ("GET", "/api/v1/meetings"), ("POST", "/api/v1/meetings/x/join")],
)
def test_other_routes_have_no_special_limit(method: str, path: str) -> None:
    assert special_route(method, path) is None


def test_sliding_window_weighs_the_previous_window_by_its_overlap() -> None:
    period = 60
    start = 600.0
    assert window_index(start + 59.9, period) == 10
    assert weighted_count(start, period, current=0, previous=10) == 10
    assert weighted_count(start + 15, period, current=2, previous=10) == pytest.approx(9.5)
    assert weighted_count(start + 45, period, current=2, previous=10) == pytest.approx(4.5)
    assert is_allowed(start + 15, period, limit=10, current=3, previous=10) is False
    assert is_allowed(start + 15, period, limit=10, current=2, previous=10) is True
    assert is_allowed(start + 30, period, limit=10, current=5, previous=10) is True
    assert remaining(start + 30, period, limit=10, current=5, previous=10) == 0
    assert remaining(start + 30, period, limit=10, current=1, previous=10) == 4


def test_next_allowed_instant_is_exact() -> None:
    period = 900
    # Five taken in a fresh window: the next window must drop the five to four.
    assert next_allowed_at(100.0, period, limit=5, current=5, previous=0) == 900 + 180
    # Room in this window but the previous one still weighs too much: wait until it weighs 4.
    assert next_allowed_at(900.0, period, limit=5, current=0, previous=5) == pytest.approx(900 + 180)
    assert next_allowed_at(10.0, period, limit=5, current=1, previous=0) == 10.0
    assert retry_after_seconds(100.0, 1080.0) == 980
    assert retry_after_seconds(100.0, 100.2) == 1  # never 0: the client must wait at least a second


def test_a_client_waiting_as_told_is_allowed_and_not_a_second_earlier() -> None:
    """Simulated with the memory store: Retry-After is exact for every position in the window."""
    from datetime import UTC, datetime

    from agents_meetings import clock

    for offset in (0, 37, 450, 899):
        now = [9000.0 + offset]
        clock.set_clock(lambda now=now: datetime.fromtimestamp(now[0], UTC))
        try:
            service = RateLimitService(MemoryCounterStore(), _Config(Rate(5, 900)))
            for _ in range(5):
                assert service.check_rate_limit("ip:x", "login").allowed
            refused = service.check_rate_limit("ip:x", "login")
            assert not refused.allowed and refused.retry_after is not None
            now[0] += refused.retry_after - 1
            assert service.get_remaining("ip:x", "login") == 0
            now[0] += 1
            assert service.check_rate_limit("ip:x", "login").allowed
        finally:
            clock.set_clock(None)


def test_a_sharded_hot_key_never_allows_more_than_its_limit() -> None:
    service = RateLimitService(MemoryCounterStore(), _Config(Rate(100, 3600), shards=4))
    allowed = sum(service.check_rate_limit("ip:hot", "anonymous").allowed for _ in range(400))
    assert 0 < allowed <= 100


class _Config:
    """A fixed configuration in place of the table-backed cache."""

    def __init__(self, rate: Rate, shards: int = 1) -> None:
        from agents_meetings.ratelimit.config import LimitSetting, RateLimitConfig

        self._config = RateLimitConfig(limits={name: LimitSetting(rate, shards) for name in ("login", "anonymous")})

    def get(self) -> object:
        return self._config
