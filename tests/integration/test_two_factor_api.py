"""/api/v1/auth/2fa: TOTP enrolment and login, backup codes, SMS codes, secrets at rest, admin rule."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from agents_meetings.clock import utcnow
from agents_meetings.identity import sms
from agents_meetings.settings import get_settings, reset_settings
from http_support import assert_error

pytestmark = pytest.mark.integration

ME = "/api/v1/users/me"
ADMIN_USERS = "/api/v1/admin/users"
PHONE = "+14155550123"
ACCOUNT_ID = "123456789012"  # moto's default account


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def sealed_secrets(data_key: str) -> Iterator[str]:
    """Every test here seals 2FA secrets with the run's KMS key (conftest ``data_key``)."""
    sms.sms_sender.cache_clear()
    yield data_key
    sms.sms_sender.cache_clear()


@pytest.fixture
def admin_2fa_required(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ADMIN_2FA_REQUIRED", "true")
    reset_settings()
    yield
    monkeypatch.setenv("ADMIN_2FA_REQUIRED", "false")
    reset_settings()


def code_now(secret: str) -> str:
    """What an authenticator app shows now (by the platform clock)."""
    return pyotp.TOTP(secret).at(utcnow())


def enrol(client: Any, headers: dict[str, str]) -> tuple[str, list[str]]:
    started = client.post("/api/v1/auth/2fa/enable", headers=headers)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    verified = client.post("/api/v1/auth/2fa/verify", json={"code": code_now(secret)}, headers=headers)
    assert verified.status_code == 200, verified.text
    return secret, verified.json()["backup_codes"]


def challenge(api: Any, account: Any) -> dict[str, Any]:
    response = api.login(account.email, account.password)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["two_factor_required"] is True and "access_token" not in body, body
    return dict(body)


def second_step(client: Any, challenge_token: str, code: str, method: str = "totp") -> Any:
    return client.post(
        "/api/v1/auth/2fa/login", json={"challenge_token": challenge_token, "method": method, "code": code}
    )


def sent_sms_codes(phone: str) -> list[str]:
    from moto.sns.models import sns_backends

    messages = sns_backends[ACCOUNT_ID]["us-east-1"].sms_messages.values()
    return [re.search(r"\b(\d{6})\b", text).group(1) for number, text in messages if number == phone]  # type: ignore[union-attr]


def enrol_phone(client: Any, headers: dict[str, str], phone: str = "+14155550123") -> None:
    """Enrol a phone the way a user does: the number, then the code texted to it."""
    started = client.post("/api/v1/auth/2fa/sms/enroll", json={"phone": phone}, headers=headers)
    assert started.status_code == 202 and started.json() == {"sent": True, "expires_in": 600}, started.text
    confirmed = client.post("/api/v1/auth/2fa/sms/confirm", json={"code": sent_sms_codes(phone)[-1]}, headers=headers)
    assert confirmed.status_code == 204, confirmed.text


# --- TOTP ----------------------------------------------------------------------------------------


def test_2fa_works_with_authenticator_apps(client: Any, api: Any, make_user: Any, frozen_clock: Any) -> None:
    user = make_user()
    started = client.post("/api/v1/auth/2fa/enable", headers=user.headers)
    assert started.status_code == 200, started.text
    body = started.json()
    secret = body["secret"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    parsed = pyotp.parse_uri(body["otpauth_uri"])
    assert parsed.secret == secret and parsed.issuer == "Agents-Meetings" and parsed.name == user.email
    assert body["qr_svg"].startswith("data:image/svg+xml")
    assert client.get("/api/v1/auth/2fa", headers=user.headers).json() == {"enabled": False}

    # Not on until a code from the app proves the secret was saved; a wrong code changes nothing.
    assert api.login(user.email, user.password).json().get("access_token")
    wrong = client.post("/api/v1/auth/2fa/verify", json={"code": "000000"}, headers=user.headers)
    assert_error(wrong, 400, "invalid_two_factor_code")
    verified = client.post("/api/v1/auth/2fa/verify", json={"code": code_now(secret)}, headers=user.headers)
    assert verified.status_code == 200, verified.text
    codes = verified.json()["backup_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", code) for code in codes)
    assert client.get("/api/v1/auth/2fa", headers=user.headers).json() == {"enabled": True}

    # Login now takes two steps: the password gives a challenge, the app's code gives the tokens.
    pending = challenge(api, user)
    assert pending["methods"] == ["totp", "backup_code"] and pending["expires_in"] == 300
    assert client.get(ME, headers=bearer(pending["challenge_token"])).status_code == 401
    frozen_clock.advance(seconds=30)
    assert_error(second_step(client, pending["challenge_token"], "123456"), 401, "invalid_two_factor_code")
    done = second_step(client, pending["challenge_token"], code_now(secret))
    assert done.status_code == 200, done.text
    tokens = done.json()
    assert tokens["token_type"] == "bearer" and tokens["password_change_required"] is False
    assert client.get(ME, headers=bearer(tokens["access_token"])).json()["id"] == user.id

    # The challenge is single use, and expires after 5 minutes.
    frozen_clock.advance(seconds=30)
    assert_error(second_step(client, pending["challenge_token"], code_now(secret)), 401, "token_revoked")
    late = challenge(api, user)
    frozen_clock.advance(minutes=6)
    assert_error(second_step(client, late["challenge_token"], code_now(secret)), 401, "invalid_token")


def test_a_replayed_time_step_is_refused(client: Any, api: Any, make_user: Any, frozen_clock: Any) -> None:
    user = make_user()
    secret, _ = enrol(client, user.headers)
    # The code that activated 2FA cannot sign in during the same time-step.
    replay = second_step(client, challenge(api, user)["challenge_token"], code_now(secret))
    assert_error(replay, 401, "invalid_two_factor_code")
    frozen_clock.advance(seconds=30)
    code = code_now(secret)
    assert second_step(client, challenge(api, user)["challenge_token"], code).status_code == 200
    assert_error(second_step(client, challenge(api, user)["challenge_token"], code), 401, "invalid_two_factor_code")
    # An older step that is still inside the drift window is refused too: it is not after the last one.
    previous = pyotp.TOTP(secret).at(utcnow(), counter_offset=-1)
    frozen_clock.advance(seconds=1)
    assert_error(second_step(client, challenge(api, user)["challenge_token"], previous), 401, "invalid_two_factor_code")


def test_enable_does_not_replace_an_active_enrolment_and_disable_needs_a_code(
    client: Any, api: Any, make_user: Any, frozen_clock: Any
) -> None:
    user = make_user()
    secret, _ = enrol(client, user.headers)
    assert_error(client.post("/api/v1/auth/2fa/enable", headers=user.headers), 409, "two_factor_already_enabled")
    wrong = client.post("/api/v1/auth/2fa/disable", json={"code": "999999"}, headers=user.headers)
    assert_error(wrong, 400, "invalid_two_factor_code")
    frozen_clock.advance(seconds=30)
    off = client.post("/api/v1/auth/2fa/disable", json={"code": code_now(secret)}, headers=user.headers)
    assert off.status_code == 204, off.text
    assert "access_token" in api.login(user.email, user.password).json()
    again = client.post("/api/v1/auth/2fa/disable", json={"code": code_now(secret)}, headers=user.headers)
    assert_error(again, 409, "two_factor_not_enabled")


def test_wrong_codes_at_the_second_step_are_limited(client: Any, api: Any, make_user: Any, frozen_clock: Any) -> None:
    user = make_user()
    secret, codes = enrol(client, user.headers)
    token = challenge(api, user)["challenge_token"]
    for _ in range(10):
        assert_error(second_step(client, token, "000000"), 401, "invalid_two_factor_code")
    frozen_clock.advance(seconds=30)
    locked = second_step(client, token, code_now(secret))
    assert_error(locked, 429, "two_factor_locked")
    assert 1 <= int(locked.headers["Retry-After"]) <= 15 * 60
    frozen_clock.advance(minutes=15)
    fresh = challenge(api, user)["challenge_token"]
    assert second_step(client, fresh, codes[0], "backup_code").status_code == 200


# --- backup codes ----------------------------------------------------------------------------


def test_backup_codes_can_be_used_once(client: Any, api: Any, make_user: Any, frozen_clock: Any) -> None:
    user = make_user()
    _, codes = enrol(client, user.headers)
    first = second_step(client, challenge(api, user)["challenge_token"], codes[0], "backup_code")
    assert first.status_code == 200, first.text
    again = second_step(client, challenge(api, user)["challenge_token"], codes[0], "backup_code")
    assert_error(again, 401, "invalid_two_factor_code")
    # Typed the way people type them: lower case, no dash.
    relaxed = codes[1].replace("-", "").lower()
    assert second_step(client, challenge(api, user)["challenge_token"], relaxed, "backup_code").status_code == 200
    assert second_step(client, challenge(api, user)["challenge_token"], codes[2], "totp").status_code == 401
    # A backup code also turns 2FA off, once.
    off = client.post("/api/v1/auth/2fa/disable", json={"code": codes[3]}, headers=user.headers)
    assert off.status_code == 204, off.text


# --- at rest -------------------------------------------------------------------------------


def test_two_factor_secrets_are_encrypted_at_rest(client: Any, make_user: Any, aws: Any, frozen_clock: Any) -> None:
    user = make_user()
    secret, codes = enrol(client, user.headers)
    enrol_phone(client, user.headers, PHONE)
    table = get_settings().table_name("user-2fa")
    item = aws.client("dynamodb").get_item(TableName=table, Key={"user_id": {"S": user.id}}, ConsistentRead=True)
    raw = repr(item["Item"])
    assert secret not in raw and PHONE not in raw and PHONE[1:] not in raw
    assert not any(code in raw or code.replace("-", "") in raw for code in codes)
    for name in ("secret_key", "backup_codes", "sms_phone"):
        assert item["Item"][name]["S"].startswith("v1."), name
    assert item["Item"]["is_enabled"] == {"BOOL": True}


# --- SMS ---------------------------------------------------------------------------------------


def test_sms_codes_sign_in_once(client: Any, api: Any, make_user: Any, frozen_clock: Any) -> None:
    user = make_user()
    enrol(client, user.headers)
    bad = client.post("/api/v1/auth/2fa/sms/enroll", json={"phone": "0155 555 0123"}, headers=user.headers)
    assert bad.status_code in (400, 422), bad.text
    enrol_phone(client, user.headers, PHONE)
    pending = challenge(api, user)
    assert pending["methods"] == ["totp", "backup_code", "sms"]
    sent = client.post("/api/v1/auth/2fa/sms/send", json={"challenge_token": pending["challenge_token"]})
    assert sent.status_code == 200 and sent.json() == {"sent": True, "expires_in": 600}, sent.text
    code = sent_sms_codes(PHONE)[-1]
    assert second_step(client, pending["challenge_token"], code, "sms").status_code == 200
    reused = second_step(client, challenge(api, user)["challenge_token"], code, "sms")
    assert_error(reused, 401, "invalid_two_factor_code")


def test_sms_codes_expire_after_10_minutes(client: Any, api: Any, make_user: Any, frozen_clock: Any) -> None:
    user = make_user()
    enrol(client, user.headers)
    enrol_phone(client, user.headers, PHONE)
    pending = challenge(api, user)
    assert client.post("/api/v1/auth/2fa/sms/send", json={"challenge_token": pending["challenge_token"]}).is_success
    code = sent_sms_codes(PHONE)[-1]
    frozen_clock.advance(minutes=10, seconds=1)
    expired = second_step(client, challenge(api, user)["challenge_token"], code, "sms")
    assert_error(expired, 401, "invalid_two_factor_code")


def test_sms_sends_are_rate_limited(client: Any, api: Any, make_user: Any, frozen_clock: Any) -> None:
    user = make_user()
    enrol(client, user.headers)
    enrol_phone(client, user.headers, PHONE)
    frozen_clock.advance(minutes=10, seconds=1)  # the confirmation text counted too
    token = challenge(api, user)["challenge_token"]
    for _ in range(3):
        assert client.post("/api/v1/auth/2fa/sms/send", json={"challenge_token": token}).status_code == 200
        frozen_clock.advance(seconds=30)
    limited = client.post("/api/v1/auth/2fa/sms/send", json={"challenge_token": token})
    assert_error(limited, 429, "sms_rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 600 - 90 + 1
    # Only the latest code counts; after the window a new one may be sent.
    frozen_clock.advance(minutes=9)
    fresh = challenge(api, user)["challenge_token"]
    assert client.post("/api/v1/auth/2fa/sms/send", json={"challenge_token": fresh}).status_code == 200
    codes = sent_sms_codes(PHONE)
    assert len(codes) == 5  # the confirmation, three sign-in codes, the fresh one
    assert second_step(client, fresh, codes[-1], "sms").status_code == 200


def test_a_phone_is_enrolled_only_once_the_texted_code_comes_back(
    client: Any, api: Any, make_user: Any, frozen_clock: Any
) -> None:
    user = make_user()
    enrol(client, user.headers)
    nothing_pending = client.post("/api/v1/auth/2fa/sms/confirm", json={"code": "123456"}, headers=user.headers)
    assert_error(nothing_pending, 409, "sms_not_pending")
    assert client.post("/api/v1/auth/2fa/sms/enroll", json={"phone": PHONE}, headers=user.headers).status_code == 202
    # Not confirmed yet: the number cannot receive sign-in codes.
    assert challenge(api, user)["methods"] == ["totp", "backup_code"]
    code = sent_sms_codes(PHONE)[-1]
    wrong = "000000" if code != "000000" else "111111"
    assert_error(
        client.post("/api/v1/auth/2fa/sms/confirm", json={"code": wrong}, headers=user.headers),
        400,
        "invalid_two_factor_code",
    )
    malformed = client.post("/api/v1/auth/2fa/sms/confirm", json={"code": "12ab"}, headers=user.headers)
    assert malformed.status_code == 422
    frozen_clock.advance(minutes=10, seconds=1)
    expired = client.post("/api/v1/auth/2fa/sms/confirm", json={"code": code}, headers=user.headers)
    assert_error(expired, 400, "invalid_two_factor_code")
    assert challenge(api, user)["methods"] == ["totp", "backup_code"]
    # A new enrolment texts a new code; that one works, once.
    enrol_phone(client, user.headers, "+447700900123")
    assert challenge(api, user)["methods"] == ["totp", "backup_code", "sms"]
    again = client.post(
        "/api/v1/auth/2fa/sms/confirm", json={"code": sent_sms_codes("+447700900123")[-1]}, headers=user.headers
    )
    assert_error(again, 409, "sms_not_pending")


def test_confirmation_codes_die_after_too_many_wrong_guesses(client: Any, make_user: Any, api: Any) -> None:
    user = make_user()
    enrol(client, user.headers)
    client.post("/api/v1/auth/2fa/sms/enroll", json={"phone": PHONE}, headers=user.headers)
    code = sent_sms_codes(PHONE)[-1]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post("/api/v1/auth/2fa/sms/confirm", json={"code": wrong}, headers=user.headers)
    dead = client.post("/api/v1/auth/2fa/sms/confirm", json={"code": code}, headers=user.headers)
    assert_error(dead, 400, "invalid_two_factor_code")
    assert challenge(api, user)["methods"] == ["totp", "backup_code"]


def test_sms_needs_an_enrolled_phone_and_a_challenge(client: Any, api: Any, make_user: Any) -> None:
    user = make_user()
    early = client.post("/api/v1/auth/2fa/sms/enroll", json={"phone": PHONE}, headers=user.headers)
    assert_error(early, 409, "two_factor_not_enabled")
    _, codes = enrol(client, user.headers)
    pending = challenge(api, user)
    assert_error(
        client.post("/api/v1/auth/2fa/sms/send", json={"challenge_token": pending["challenge_token"]}),
        409,
        "sms_not_enrolled",
    )
    # An access token is not a challenge token.
    tokens = second_step(client, pending["challenge_token"], codes[0], "backup_code")
    access = tokens.json()["access_token"]
    assert_error(client.post("/api/v1/auth/2fa/sms/send", json={"challenge_token": access}), 401, "invalid_token")


# --- admins --------------------------------------------------------------------------------------


def test_admin_accounts_must_enrol_2fa_before_using_admin_endpoints(
    client: Any, api: Any, admin: Any, make_user: Any, admin_2fa_required: None, frozen_clock: Any
) -> None:
    refused = client.get(ADMIN_USERS, headers=admin.headers)
    assert_error(refused, 403, "two_factor_required")
    assert "/api/v1/auth/2fa/enable" in refused.json()["error"]["message"]
    # What enrolment needs stays open.
    assert client.get(ME, headers=admin.headers).status_code == 200
    secret, _ = enrol(client, admin.headers)
    assert client.get(ADMIN_USERS, headers=admin.headers).status_code == 200
    # A fresh admin session goes through the second step, then admin endpoints work.
    frozen_clock.advance(seconds=30)
    tokens = second_step(client, challenge(api, admin)["challenge_token"], code_now(secret)).json()
    assert client.get(ADMIN_USERS, headers=bearer(tokens["access_token"])).status_code == 200


def test_the_login_response_documents_the_two_factor_challenge(client: Any) -> None:
    document = client.get("/api/openapi.json").json()
    login = document["paths"]["/api/v1/auth/login"]["post"]["responses"]["200"]["content"]["application/json"]
    referenced = {ref.rsplit("/", 1)[-1] for ref in re.findall(r"#/components/schemas/\w+", str(login["schema"]))}
    assert {"TokenOut", "TwoFactorChallengeOut"} <= referenced
    for path in ("enable", "verify", "disable", "login", "sms/send", "sms/enroll"):
        assert f"/api/v1/auth/2fa/{path}" in document["paths"], path
