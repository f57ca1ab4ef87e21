"""Sessions (issue 7): listed per device, ended one by one or everywhere, idle timeout, a limit per
user, and a reused refresh token ending its whole session."""

from __future__ import annotations

from typing import Any

import pytest
from agents_meetings.settings import reset_settings
from http_support import assert_error

pytestmark = pytest.mark.integration

ME = "/api/v1/users/me"
SESSIONS = "/api/v1/auth/sessions"


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def sign_in(api: Any, user: Any, device: str) -> dict[str, Any]:
    response = api.client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": user.password}, headers={"User-Agent": device}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_sessions_are_listed_with_device_ip_and_last_seen(api: Any, make_user: Any) -> None:
    user = make_user()
    phone = sign_in(api, user, "Phone/1.0")
    laptop = sign_in(api, user, "Laptop/2.0")
    listed = api.client.get(SESSIONS, headers=bearer(laptop)).json()
    by_device = {s["device"]: s for s in listed}
    assert {"Phone/1.0", "Laptop/2.0"} <= by_device.keys()
    assert by_device["Laptop/2.0"]["current"] is True and by_device["Phone/1.0"]["current"] is False
    assert all(s["ip"] and s["last_seen_at"].endswith("Z") for s in listed)
    assert api.client.get(ME, headers=bearer(phone)).status_code == 200


def test_ending_one_session_stops_its_tokens_at_once_and_others_are_untouched(api: Any, make_user: Any) -> None:
    user = make_user()
    phone = sign_in(api, user, "Phone/1.0")
    laptop = sign_in(api, user, "Laptop/2.0")
    phone_id = next(
        s["id"] for s in api.client.get(SESSIONS, headers=bearer(laptop)).json() if s["device"] == "Phone/1.0"
    )
    assert api.client.delete(f"{SESSIONS}/{phone_id}", headers=bearer(laptop)).status_code == 204
    assert_error(api.client.get(ME, headers=bearer(phone)), 401, "session_ended")
    assert_error(
        api.client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]}), 401, "session_ended"
    )
    assert api.client.get(ME, headers=bearer(laptop)).status_code == 200


def test_another_users_session_cannot_be_ended_or_seen(api: Any, make_user: Any) -> None:
    alice, bob = make_user(), make_user()
    bob_session = api.client.get(SESSIONS, headers=bob.headers).json()[0]["id"]
    assert_error(api.client.delete(f"{SESSIONS}/{bob_session}", headers=alice.headers), 404, "session_not_found")
    assert all(s["id"] != bob_session for s in api.client.get(SESSIONS, headers=alice.headers).json())
    assert api.client.get(ME, headers=bob.headers).status_code == 200


def test_log_out_all_devices(api: Any, make_user: Any) -> None:
    user = make_user()
    devices = [sign_in(api, user, f"Device/{n}") for n in range(3)]
    ended = api.client.delete(SESSIONS, headers=bearer(devices[0]))
    assert ended.status_code == 200 and ended.json()["ended"] >= 3
    for tokens in devices:
        assert_error(api.client.get(ME, headers=bearer(tokens)), 401, "session_ended")


def test_sessions_expire_after_30_minutes_of_inactivity(api: Any, make_user: Any, frozen_clock: Any) -> None:
    user = make_user()
    tokens = sign_in(api, user, "Idle/1.0")
    frozen_clock.advance(minutes=20)
    refreshed = api.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200  # activity at 20 minutes keeps it alive
    frozen_clock.advance(minutes=25)
    assert (
        api.client.post("/api/v1/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}).status_code
        == 200
    )  # 25 idle minutes: still under 30
    frozen_clock.advance(minutes=31)
    idle = api.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert idle.status_code == 401


def test_an_idle_session_is_refused_with_a_clear_reason(api: Any, make_user: Any, frozen_clock: Any) -> None:
    user = make_user()
    tokens = sign_in(api, user, "Idle/2.0")
    frozen_clock.advance(minutes=31)
    new = api.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_error(new, 401, "session_expired")


def test_concurrent_session_limit_ends_the_oldest(
    api: Any, make_user: Any, monkeypatch: Any, frozen_clock: Any
) -> None:
    user = make_user()
    monkeypatch.setenv("MAX_SESSIONS_PER_USER", "2")
    reset_settings()
    first = sign_in(api, user, "First/1.0")
    frozen_clock.advance(minutes=2)
    second = sign_in(api, user, "Second/1.0")
    frozen_clock.advance(minutes=2)
    third = sign_in(api, user, "Third/1.0")
    devices = {s["device"] for s in api.client.get(SESSIONS, headers=bearer(third)).json()}
    assert devices == {"Second/1.0", "Third/1.0"}
    assert_error(api.client.get(ME, headers=bearer(first)), 401, "session_ended")
    assert api.client.get(ME, headers=bearer(second)).status_code == 200


def test_a_reused_refresh_token_revokes_the_whole_session(api: Any, make_user: Any) -> None:
    user = make_user()
    stolen = sign_in(api, user, "Victim/1.0")
    owner = api.client.post("/api/v1/auth/refresh", json={"refresh_token": stolen["refresh_token"]}).json()
    thief = api.client.post("/api/v1/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    assert_error(thief, 401, "refresh_token_reused")
    assert_error(api.client.get(ME, headers=bearer(owner)), 401, "session_ended")
    assert_error(
        api.client.post("/api/v1/auth/refresh", json={"refresh_token": owner["refresh_token"]}), 401, "session_ended"
    )
