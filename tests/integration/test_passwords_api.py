"""Passwords (spec 3.1): strong passwords enforced, the admin 90-day rule, change-password, and the
emailed reset (sent through SES, single use, expires after 1 hour, same answer for unknown emails,
every session revoked after a reset)."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.identity.password_lifecycle import token_digest
from agents_meetings.settings import get_settings
from agents_meetings.tables import PasswordResetModel, UserModel
from http_support import assert_error, published
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

pytestmark = pytest.mark.integration

NEW_PASSWORD = "Brand-New-Secret-2027!"
OTHER_PASSWORD = "Another-Secret-2028?"
CHANGE = "/api/v1/auth/change-password"
REQUEST = "/api/v1/auth/password-reset/request"
CONFIRM = "/api/v1/auth/password-reset/confirm"
ME = "/api/v1/users/me"


@pytest.fixture
def ses(aws: Any) -> Any:
    """SES in the mocked account with the platform's sender verified; its backend holds sent mail."""
    aws.client("ses").verify_email_identity(EmailAddress=get_settings().email_from)
    return ses_backends[DEFAULT_ACCOUNT_ID][get_settings().aws_region]


def sent_to(ses: Any, email: str) -> list[Any]:
    return [m for m in ses.sent_messages if email in m.destinations.get("ToAddresses", [])]


def reset_link_token(message: Any) -> str:
    link = re.search(r"https?://\S+/reset-password\?token=[A-Za-z0-9_\-%]+", message.body)
    assert link, message.body
    assert link.group(0).startswith(get_settings().public_app_url)
    return parse_qs(urlsplit(link.group(0)).query)["token"][0]


def request_reset(client: Any, ses: Any, email: str) -> str:
    before = len(sent_to(ses, email))
    response = client.post(REQUEST, json={"email": email})
    assert response.status_code == 202, response.text
    messages = sent_to(ses, email)
    assert len(messages) == before + 1, "one email per request"
    return reset_link_token(messages[-1])


# --- strong passwords are enforced -------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt!pw", "at least 12 characters"),
        ("no-upper-case-1", "an upper-case letter"),
        ("NO-LOWER-CASE-1", "a lower-case letter"),
        ("No-Digits-At-All", "a digit"),
        ("NoSymbolsHere123", "a symbol"),
    ],
)
def test_strong_passwords_are_enforced_at_registration(api: Any, admin: Any, password: str, problem: str) -> None:
    error = assert_error(api.register("weak@example.com", password=password), 422, "weak_password")
    assert problem in error["details"]["problems"]
    assert error["message"].startswith("Password is too weak") and problem in error["message"]


def test_a_common_password_is_refused_whatever_its_case(api: Any, admin: Any) -> None:
    from agents_meetings.identity.passwords import common_passwords

    listed = next(w for w in common_passwords() if len(w) >= 12 and w.isalpha())
    error = assert_error(api.register("common@example.com", password=listed.upper()), 422, "weak_password")
    assert "not a commonly used password" in error["details"]["problems"]


def test_strong_passwords_are_enforced_when_changing_and_resetting(api: Any, ses: Any, make_user: Any) -> None:
    user = make_user()
    weak = api.client.post(
        CHANGE, json={"current_password": user.password, "new_password": "weak"}, headers=user.headers
    )
    assert_error(weak, 422, "weak_password")
    token = request_reset(api.client, ses, user.email)
    assert_error(api.client.post(CONFIRM, json={"token": token, "new_password": "password"}), 422, "weak_password")
    # A refused weak password does not use the token up.
    assert api.client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD}).status_code == 204


# --- change-password ---------------------------------------------------------------------------


def test_change_password_needs_the_current_one_and_a_different_new_one(api: Any, aws: Any, make_user: Any) -> None:
    user = make_user()
    wrong = api.client.post(
        CHANGE, json={"current_password": "Not-The-Password-1!", "new_password": NEW_PASSWORD}, headers=user.headers
    )
    assert_error(wrong, 403, "invalid_current_password")
    same = api.client.post(
        CHANGE, json={"current_password": user.password, "new_password": user.password}, headers=user.headers
    )
    assert_error(same, 422, "password_unchanged")
    assert_error(api.client.post(CHANGE, json={"current_password": user.password, "new_password": NEW_PASSWORD}), 401)

    changed = api.client.post(
        CHANGE, json={"current_password": user.password, "new_password": NEW_PASSWORD}, headers=user.headers
    )
    assert changed.status_code == 204, changed.text
    assert_error(api.login(user.email, user.password), 401, "invalid_credentials")
    assert api.login(user.email, NEW_PASSWORD).status_code == 200
    [event] = published(aws, DomainEvent.USER_PASSWORD_CHANGED, user_id=user.id)
    assert event["method"] == "change"
    assert "auth.password_changed" in _audit_actions(api, user.id)


# --- admins change passwords every 90 days -----------------------------------------------------


def test_an_admin_must_change_the_password_after_90_days(api: Any, admin: Any, frozen_clock: Any) -> None:
    assert api.tokens(admin.email)["password_change_required"] is False
    frozen_clock.advance(days=89, hours=23)
    assert api.tokens(admin.email)["password_change_required"] is False
    frozen_clock.advance(hours=1)

    tokens = api.tokens(admin.email)  # login still succeeds, and says so
    assert tokens["password_change_required"] is True
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert_error(api.client.get("/api/v1/admin/users", headers=headers), 403, "password_change_required")
    assert_error(api.client.get("/api/v1/meetings", headers=headers), 403, "password_change_required")
    assert api.client.get(ME, headers=headers).status_code == 200, "GET /users/me stays available"

    changed = api.client.post(
        CHANGE, json={"current_password": admin.password, "new_password": NEW_PASSWORD}, headers=headers
    )
    assert changed.status_code == 204, changed.text
    assert api.client.get("/api/v1/admin/users", headers=headers).status_code == 200
    assert api.tokens(admin.email, NEW_PASSWORD)["password_change_required"] is False


def test_the_90_day_rule_is_for_admins_only(api: Any, make_user: Any, frozen_clock: Any) -> None:
    user = make_user("teacher")
    frozen_clock.advance(days=365)
    tokens = api.tokens(user.email)
    assert tokens["password_change_required"] is False
    assert (
        api.client.get("/api/v1/meetings", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code
        == 200
    )


def test_the_token_response_documents_password_change_required(client: Any) -> None:
    schema = client.get("/api/openapi.json").json()
    token_out = schema["components"]["schemas"]["TokenOut"]
    assert token_out["properties"]["password_change_required"]["type"] == "boolean"
    for path in (CHANGE, REQUEST, CONFIRM):
        assert "post" in schema["paths"][path], path


# --- password reset ------------------------------------------------------------------------------


def test_password_reset_sends_an_email_with_a_working_link(api: Any, aws: Any, ses: Any, make_user: Any) -> None:
    user = make_user()
    started = time.monotonic()
    token = request_reset(api.client, ses, user.email)
    assert time.monotonic() - started < 60, "within a minute"
    [message] = sent_to(ses, user.email)
    assert message.source == get_settings().email_from
    assert "reset" in message.subject.lower()
    # Stored hashed: the token itself is nowhere in the table.
    record = PasswordResetModel.get(token_digest(token))
    assert record.user_id == user.id and record.used_at is None
    assert token not in str(record.attribute_values)

    assert api.client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD}).status_code == 204
    assert api.login(user.email, NEW_PASSWORD).status_code == 200
    assert_error(api.login(user.email, user.password), 401, "invalid_credentials")
    [event] = published(aws, DomainEvent.USER_PASSWORD_CHANGED, user_id=user.id)
    assert event["method"] == "reset"
    actions = _audit_actions(api, user.id)
    assert {"auth.password_reset_requested", "auth.password_reset_email_sent", "auth.password_reset_completed"} <= set(
        actions
    )


def test_reset_tokens_expire_after_1_hour(api: Any, ses: Any, make_user: Any, frozen_clock: Any) -> None:
    user, second_user = make_user(), make_user()
    first = request_reset(api.client, ses, user.email)
    frozen_clock.advance(minutes=59, seconds=59)
    second = request_reset(api.client, ses, second_user.email)
    # First token: 59:59 old, still good.
    assert api.client.post(CONFIRM, json={"token": first, "new_password": NEW_PASSWORD}).status_code == 204
    frozen_clock.advance(hours=1)
    expired = api.client.post(CONFIRM, json={"token": second, "new_password": NEW_PASSWORD})
    assert_error(expired, 400, "invalid_reset_token")
    assert api.login(second_user.email, second_user.password).status_code == 200, "nothing changed"


def test_a_reset_token_is_single_use(api: Any, ses: Any, make_user: Any) -> None:
    user = make_user()
    token = request_reset(api.client, ses, user.email)
    assert api.client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD}).status_code == 204
    again = api.client.post(CONFIRM, json={"token": token, "new_password": OTHER_PASSWORD})
    assert_error(again, 400, "invalid_reset_token")
    assert api.login(user.email, NEW_PASSWORD).status_code == 200


def test_a_new_reset_request_invalidates_the_older_token(api: Any, ses: Any, make_user: Any) -> None:
    user = make_user()
    older = request_reset(api.client, ses, user.email)
    newer = request_reset(api.client, ses, user.email)
    assert_error(
        api.client.post(CONFIRM, json={"token": older, "new_password": NEW_PASSWORD}), 400, "invalid_reset_token"
    )
    assert api.client.post(CONFIRM, json={"token": newer, "new_password": NEW_PASSWORD}).status_code == 204


def test_a_password_change_invalidates_outstanding_reset_tokens(api: Any, ses: Any, make_user: Any) -> None:
    user = make_user()
    token = request_reset(api.client, ses, user.email)
    changed = api.client.post(
        CHANGE, json={"current_password": user.password, "new_password": NEW_PASSWORD}, headers=user.headers
    )
    assert changed.status_code == 204
    assert_error(
        api.client.post(CONFIRM, json={"token": token, "new_password": OTHER_PASSWORD}), 400, "invalid_reset_token"
    )


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 43, "A" * 512])
def test_an_unknown_reset_token_gets_the_same_400(api: Any, aws: Any, token: str) -> None:
    error = assert_error(
        api.client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD}), 400, "invalid_reset_token"
    )
    assert error["details"] == {}


def test_the_same_response_for_an_unknown_email(api: Any, ses: Any, make_user: Any) -> None:
    user = make_user()
    floor = get_settings().password_reset_min_response_ms / 1000
    answers = []
    for email in (user.email, "nobody-at-all@example.com"):
        started = time.monotonic()
        response = api.client.post(REQUEST, json={"email": email})
        elapsed = time.monotonic() - started
        assert elapsed >= floor, "both answers take at least the same minimum time"
        answers.append((response.status_code, response.json(), response.headers["content-length"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 202
    assert sent_to(ses, "nobody-at-all@example.com") == []
    assert len(sent_to(ses, user.email)) == 1


def test_no_reset_email_for_a_deactivated_account_and_the_same_answer(api: Any, ses: Any, make_user: Any) -> None:
    user = make_user(active=False)
    response = api.client.post(REQUEST, json={"email": user.email})
    assert response.status_code == 202
    assert sent_to(ses, user.email) == []


def test_old_tokens_are_revoked_after_a_reset(api: Any, ses: Any, make_user: Any) -> None:
    user = make_user()
    old_access = user.headers
    old_refresh = user.tokens["refresh_token"]
    assert api.client.get(ME, headers=old_access).status_code == 200
    token = request_reset(api.client, ses, user.email)
    assert api.client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD}).status_code == 204

    # Every session was ended by the reset (and tokens issued before it are refused anyway).
    assert_error(api.client.get(ME, headers=old_access), 401, "session_ended")
    assert_error(api.client.post("/api/v1/auth/refresh", json={"refresh_token": old_refresh}), 401, "token_revoked")
    fresh = api.tokens(user.email, NEW_PASSWORD)
    assert api.client.get(ME, headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 200
    refreshed = api.client.post("/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert UserModel.get(user.id).tokens_valid_after is not None


def test_an_email_that_cannot_be_sent_still_gets_the_same_answer(api: Any, aws: Any, make_user: Any) -> None:
    # No verified sender here: SES refuses the message. The caller learns nothing; the failure is audited.
    user = make_user()
    response = api.client.post(REQUEST, json={"email": user.email})
    assert response.status_code == 202
    assert "auth.password_reset_email_failed" in _audit_actions(api, user.id)


def _audit_actions(api: Any, user_id: str) -> list[str]:
    from agents_meetings.tables import AuditLogModel

    return [entry.action for entry in AuditLogModel.by_target.query(user_id)]
