"""The replaceable UTC clock and the wire format of instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from agents_meetings import clock

pytestmark = pytest.mark.unit


def test_utcnow_is_aware_utc_and_current() -> None:
    now = clock.utcnow()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5


def test_set_clock_installs_a_clock_and_none_restores_the_system_clock() -> None:
    fixed = datetime(2030, 5, 17, 8, 30, tzinfo=UTC)
    clock.set_clock(lambda: fixed)
    try:
        assert clock.utcnow() == fixed
    finally:
        clock.set_clock(None)
    assert clock.utcnow() != fixed
    assert abs((datetime.now(UTC) - clock.utcnow()).total_seconds()) < 5


def test_to_utc_takes_naive_datetimes_as_utc() -> None:
    naive = datetime(2026, 1, 2, 3, 4, 5)
    assert clock.to_utc(naive) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert clock.to_utc(naive).tzinfo is UTC


def test_to_utc_converts_aware_datetimes() -> None:
    paris_winter = datetime(2026, 1, 2, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    converted = clock.to_utc(paris_winter)
    assert converted == datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    assert converted.utcoffset() == timedelta(0)


def test_isoformat_z_writes_utc_with_a_z_suffix() -> None:
    assert clock.isoformat_z(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert clock.isoformat_z(datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == "2026-01-02T03:04:05.120000Z"
    new_york = datetime(2026, 1, 2, 3, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert clock.isoformat_z(new_york) == "2026-01-02T08:00:00Z"
    assert clock.isoformat_z(datetime(2026, 1, 2)) == "2026-01-02T00:00:00Z"


def test_isoformat_z_of_nothing_is_none() -> None:
    assert clock.isoformat_z(None) is None
