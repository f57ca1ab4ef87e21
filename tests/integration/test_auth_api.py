"""/api/v1/auth: registration, login, token refresh and logout, with every denial and bad input."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from agents_meetings.errors import Conflict
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import RecordingPublisher
from agents_meetings.identity.service import BOOTSTRAP_MARKER, AuthService, NewAccount
from agents_meetings.tables import SessionModel, UserEmailModel, UserModel
from http_support import assert_error, published
from moto.core.botocore_stubber import BotocoreStubber

pytestmark = pytest.mark.integration

PASSWORD = "Correct-Horse-Battery-7"  # meets the password policy (spec 3.1)
ME = "/api/v1/users/me"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- register -------------------------------------------------------------------------------


def test_the_first_user_to_register_becomes_an_approved_admin(api: Any, aws: Any) -> None:
    response = api.register("Founder@Example.com", full_name="  Grace Hopper ")
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["role"] == "admin" and user["status"] == "approved" and user["is_active"] is True
    assert user["email"] == "founder@example.com"
    assert user["full_name"] == "Grace Hopper"
    assert "password" not in response.text and "argon2" not in response.text
    [event] = published(aws, DomainEvent.USER_REGISTERED, user_id=user["id"])
    assert (event["role"], event["status"]) == ("admin", "approved")


def test_registration_creates_a_pending_participant(api: Any, admin: Any, aws: Any) -> None:
    response = api.register("Ada.Lovelace@Example.com", full_name="Ada Lovelace", timezone="Europe/London")
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["role"] == "participant" and user["status"] == "pending"
    assert user["email"] == "ada.lovelace@example.com"
    assert user["timezone"] == "Europe/London"
    assert user["created_at"].endswith("Z") and user["updated_at"].endswith("Z")
    [event] = published(aws, DomainEvent.USER_REGISTERED, user_id=user["id"])
    assert event == {**event, "email": "ada.lovelace@example.com", "role": "participant", "status": "pending"}
    audit = api.client.get(f"/api/v1/admin/audit-logs?target_id={user['id']}", headers=admin.headers).json()
    assert [entry["action"] for entry in audit["items"]] == ["user.registered"]


def test_a_second_user_is_not_an_admin_even_if_the_first_was_created_long_ago(api: Any, admin: Any) -> None:
    for index in range(2):
        assert api.register(f"later-{index}@example.com").json()["role"] == "participant"


def test_a_duplicate_email_is_refused_case_insensitively_and_nothing_changes(api: Any, admin: Any, aws: Any) -> None:
    first = api.register("Dup@Example.com", password="First-Password-1!", full_name="First").json()
    events_before = len(aws.events())
    response = api.register("dUP@example.COM", password="Second-Password-2!", full_name="Second")
    assert_error(response, 409, "email_taken")
    assert len(aws.events()) == events_before, "no event for a refused registration"
    assert UserEmailModel.get("dup@example.com").user_id == first["id"]
    assert [u.id for u in UserModel.scan(UserModel.email == "dup@example.com")] == [first["id"]]
    stored = UserModel.get(first["id"])
    assert stored.full_name == "First"
    api.client.post(f"/api/v1/admin/users/{first['id']}/approve", headers=admin.headers)
    assert api.login("dup@example.com", "First-Password-1!").status_code == 200
    assert_error(api.login("dup@example.com", "Second-Password-2!"), 401, "invalid_credentials")


INVALID_REGISTRATIONS: list[tuple[dict[str, Any], str, str | None]] = [
    ({"email": "not-an-email", "password": PASSWORD, "full_name": "X"}, "validation_error", "email"),
    ({"email": "a@", "password": PASSWORD, "full_name": "X"}, "validation_error", "email"),
    ({"email": "short@example.com", "password": "short", "full_name": "X"}, "weak_password", None),
    ({"email": "long@example.com", "password": "x" * 257, "full_name": "X"}, "validation_error", "password"),
    ({"email": "x@example.com", "password": PASSWORD, "full_name": "X", "role": "admin"}, "validation_error", "role"),
    (
        {"email": "x@example.com", "password": PASSWORD, "full_name": "X", "status": "approved"},
        "validation_error",
        "status",
    ),
    ({"email": "x@example.com", "password": PASSWORD}, "validation_error", "full_name"),
    ({"email": "x@example.com", "password": PASSWORD, "full_name": "   "}, "validation_error", "full_name"),
    (
        {"email": "x@example.com", "password": PASSWORD, "full_name": "X", "timezone": "Mars/Base"},
        "invalid_timezone",
        None,
    ),
    ({"email": ["x@example.com"], "password": PASSWORD, "full_name": "X"}, "validation_error", "email"),
    ({}, "validation_error", "email"),
]


def test_invalid_registrations_are_rejected_with_422_and_create_nothing(
    api: Any, admin: Any, aws: Any, subtests: Any
) -> None:
    events_before = len(aws.events())
    for body, code, field in INVALID_REGISTRATIONS:
        with subtests.test(body=body):
            error = assert_error(api.client.post("/api/v1/auth/register", json=body), 422, code)
            if field is not None:
                assert field in {problem["field"] for problem in error["details"]["errors"]}, error
    assert len(aws.events()) == events_before
    assert UserModel.count() == 1, "only the admin exists"


def test_a_body_that_is_not_json_is_a_422_not_a_500(api: Any) -> None:
    response = api.client.post(
        "/api/v1/auth/register", content=b"{email: nope", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "validation_error")


def test_concurrent_registrations_of_one_email_create_exactly_one_account(aws: Any, serialised_moto: None) -> None:
    service = AuthService(RecordingPublisher())
    service.register(NewAccount("admin@example.com", PASSWORD, "Admin"))
    spellings = ["race@example.com", "Race@Example.com", "RACE@example.com", "race@EXAMPLE.com", " race@example.com"]
    start = threading.Barrier(len(spellings))

    def register(email: str) -> str:
        start.wait()
        try:
            return service.register(NewAccount(email, PASSWORD, "Racer")).id
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=len(spellings)) as pool:
        outcomes = list(pool.map(register, spellings))
    winners = [outcome for outcome in outcomes if outcome != "conflict"]
    assert len(winners) == 1, outcomes
    assert UserEmailModel.get("race@example.com").user_id == winners[0]
    assert [u.id for u in UserModel.scan(UserModel.email == "race@example.com")] == winners


def test_concurrent_first_registrations_make_exactly_one_admin(aws: Any, serialised_moto: None) -> None:
    service = AuthService(RecordingPublisher())
    emails = [f"early-{index}@example.com" for index in range(5)]
    start = threading.Barrier(len(emails))

    def register(email: str) -> str:
        start.wait()
        return str(service.register(NewAccount(email, PASSWORD, "Early")).role)

    with ThreadPoolExecutor(max_workers=len(emails)) as pool:
        roles = list(pool.map(register, emails))
    assert sorted(roles) == ["admin", "participant", "participant", "participant", "participant"]
    admin_id = UserEmailModel.get(BOOTSTRAP_MARKER).user_id
    assert UserModel.get(admin_id).role == "admin"


@pytest.fixture
def serialised_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """DynamoDB handles each request atomically; in-process moto does not (its transactions
    snapshot and restore whole tables), so requests from threads are serialised as a server would."""
    lock = threading.RLock()
    original = BotocoreStubber.__call__

    def one_request_at_a_time(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", one_request_at_a_time)
    yield


# --- login ----------------------------------------------------------------------------------


def test_login_returns_an_access_and_a_refresh_token(api: Any, make_user: Any) -> None:
    user = make_user("host")
    response = api.login(user.email.upper())
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "password_change_required"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["access_token"] != body["refresh_token"]
    me = api.client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == user.id and me.json()["role"] == "host"


def test_a_wrong_password_and_an_unknown_email_get_the_same_401(api: Any, admin: Any) -> None:
    wrong = assert_error(api.login(admin.email, "not the password"), 401, "invalid_credentials")
    unknown = assert_error(api.login("nobody@example.com", PASSWORD), 401, "invalid_credentials")
    assert wrong["message"] == unknown["message"]
    assert wrong["details"] == unknown["details"] == {}


def test_accounts_that_may_not_sign_in_get_a_clear_403(api: Any, make_user: Any, subtests: Any) -> None:
    for state, code in (
        ({"status": "pending"}, "account_pending"),
        ({"status": "rejected"}, "account_rejected"),
        ({"active": False}, "account_inactive"),
    ):
        with subtests.test(code=code):
            user = make_user(**state)
            error = assert_error(api.login(user.email), 403, code)
            assert len(error["message"]) > 20, "the message explains the situation"


def test_a_pending_account_with_a_wrong_password_learns_nothing_about_its_status(api: Any, make_user: Any) -> None:
    user = make_user(status="pending")
    assert_error(api.login(user.email, "wrong password"), 401, "invalid_credentials")


def test_malformed_logins_are_422(api: Any, subtests: Any) -> None:
    for body in (
        {"email": "x@example.com"},
        {"password": PASSWORD},
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "x@example.com", "password": ""},
        {"email": "x@example.com", "password": PASSWORD, "remember_me": True},
    ):
        with subtests.test(body=body):
            assert_error(api.client.post("/api/v1/auth/login", json=body), 422, "validation_error")


def test_a_login_is_audited_with_the_source_ip(api: Any, admin: Any) -> None:
    entries = api.client.get(f"/api/v1/admin/audit-logs?target_id={admin.id}", headers=admin.headers).json()["items"]
    login = next(entry for entry in entries if entry["action"] == "auth.login")
    assert login["actor_id"] == admin.id and login["source_ip"]


# --- refresh ----------------------------------------------------------------------------------


def test_a_refresh_token_is_exchanged_once_for_a_new_pair(api: Any, make_user: Any) -> None:
    user = make_user()
    old_refresh = user.tokens["refresh_token"]
    response = api.client.post("/api/v1/auth/refresh", json={"refresh_token": old_refresh})
    assert response.status_code == 200, response.text
    pair = response.json()
    assert pair["token_type"] == "bearer" and pair["refresh_token"] != old_refresh
    assert api.client.get(ME, headers=bearer(pair["access_token"])).status_code == 200
    reused = api.client.post("/api/v1/auth/refresh", json={"refresh_token": old_refresh})
    assert_error(reused, 401, "refresh_token_reused")
    # Theft detection: a rotated token coming back ends the whole session, the newest tokens too.
    again = api.client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_error(again, 401, "session_ended")
    assert_error(api.client.get(ME, headers=bearer(pair["access_token"])), 401, "session_ended")


def test_an_access_token_cannot_be_used_to_refresh(api: Any, make_user: Any) -> None:
    user = make_user()
    response = api.client.post("/api/v1/auth/refresh", json={"refresh_token": user.tokens["access_token"]})
    assert_error(response, 401, "invalid_token")


def test_a_forged_refresh_token_is_401(api: Any, subtests: Any) -> None:
    for token in ("garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."):
        with subtests.test(token=token):
            response = api.client.post("/api/v1/auth/refresh", json={"refresh_token": token})
            assert_error(response, 401, "invalid_token")


def test_a_malformed_refresh_request_is_422(api: Any, subtests: Any) -> None:
    for body in ({}, {"refresh_token": ""}, {"refresh_token": 42}, {"token": "x"}):
        with subtests.test(body=body):
            assert_error(api.client.post("/api/v1/auth/refresh", json=body), 422, "validation_error")


def test_a_deactivated_user_cannot_refresh(api: Any, admin: Any, make_user: Any) -> None:
    user = make_user()
    api.client.post(f"/api/v1/admin/users/{user.id}/deactivate", headers=admin.headers)
    response = api.client.post("/api/v1/auth/refresh", json={"refresh_token": user.tokens["refresh_token"]})
    assert_error(response, 403, "account_inactive")


# --- logout -----------------------------------------------------------------------------------


def test_logout_revokes_the_access_token(api: Any, make_user: Any) -> None:
    user = make_user()
    response = api.client.post("/api/v1/auth/logout", headers=user.headers)
    assert response.status_code == 204 and response.content == b""
    assert_error(api.client.get(ME, headers=user.headers), 401, "token_revoked")
    assert_error(api.client.post("/api/v1/auth/logout", headers=user.headers), 401, "token_revoked")


def test_logout_with_the_refresh_token_revokes_both(api: Any, make_user: Any) -> None:
    user = make_user()
    body = {"refresh_token": user.tokens["refresh_token"]}
    assert api.client.post("/api/v1/auth/logout", json=body, headers=user.headers).status_code == 204
    assert_error(api.client.post("/api/v1/auth/refresh", json=body), 401, "token_revoked")
    assert_error(api.client.get(ME, headers=user.headers), 401, "token_revoked")


def test_logout_leaves_other_sessions_signed_in(api: Any, make_user: Any) -> None:
    user = make_user()
    other_session = bearer(api.tokens(user.email)["access_token"])
    api.client.post("/api/v1/auth/logout", headers=user.headers)
    assert api.client.get(ME, headers=other_session).status_code == 200


def test_logout_with_someone_elses_refresh_token_is_403(api: Any, make_user: Any) -> None:
    user, other = make_user(), make_user()
    body = {"refresh_token": other.tokens["refresh_token"]}
    assert_error(api.client.post("/api/v1/auth/logout", json=body, headers=user.headers), 403, "token_mismatch")
    refreshed = api.client.post("/api/v1/auth/refresh", json=body)
    assert refreshed.status_code == 200, "the other user's session is untouched"


def test_a_refused_logout_changes_nothing(api: Any, make_user: Any) -> None:
    user, other = make_user(), make_user()
    body = {"refresh_token": other.tokens["refresh_token"]}
    assert_error(api.client.post("/api/v1/auth/logout", json=body, headers=user.headers), 403, "token_mismatch")
    assert api.client.get(ME, headers=user.headers).status_code == 200


def test_logout_needs_an_access_token(api: Any) -> None:
    assert_error(api.client.post("/api/v1/auth/logout"), 401, "not_authenticated")


def test_logout_refuses_an_extra_field(api: Any, make_user: Any) -> None:
    user = make_user()
    response = api.client.post("/api/v1/auth/logout", json={"everywhere": True}, headers=user.headers)
    assert_error(response, 422, "validation_error")
    assert api.client.get(ME, headers=user.headers).status_code == 200


# --- bearer tokens ----------------------------------------------------------------------------


def test_a_missing_or_malformed_bearer_token_is_401(api: Any, subtests: Any) -> None:
    for headers, code in (
        ({}, "not_authenticated"),
        ({"Authorization": ""}, "not_authenticated"),
        ({"Authorization": "Bearer"}, "not_authenticated"),
        ({"Authorization": "Bearer "}, "not_authenticated"),
        ({"Authorization": "Basic YWRtaW46YWRtaW4="}, "not_authenticated"),
        ({"Authorization": "Token abc"}, "not_authenticated"),
        ({"Authorization": "Bearer garbage"}, "invalid_token"),
        ({"Authorization": "Bearer a.b.c"}, "invalid_token"),
    ):
        with subtests.test(headers=headers):
            assert_error(api.client.get(ME, headers=headers), 401, code)


def test_a_refresh_token_is_not_an_access_token(api: Any, make_user: Any) -> None:
    user = make_user()
    assert_error(api.client.get(ME, headers=bearer(user.tokens["refresh_token"])), 401, "invalid_token")


def test_a_token_of_a_deleted_user_is_401(api: Any, make_user: Any) -> None:
    user = make_user()
    UserModel.get(user.id).delete()
    assert_error(api.client.get(ME, headers=user.headers), 401, "invalid_token")


def test_the_bearer_scheme_is_case_insensitive(api: Any, make_user: Any) -> None:
    user = make_user()
    token = user.tokens["access_token"]
    assert api.client.get(ME, headers={"Authorization": f"bearer {token}"}).status_code == 200


# --- cost per request -----------------------------------------------------------------------------


def test_warm_registrations_and_meeting_creations_open_no_new_database_connection(
    api: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pynamodb.connection.base

    host = make_user("host")
    meeting = {"title": "Warm", "scheduled_at": "2031-01-01T10:00:00Z"}
    assert api.client.post("/api/v1/meetings", json=meeting, headers=host.headers).status_code == 201
    opened: list[str] = []
    original_init = pynamodb.connection.base.Connection.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        opened.append(type(self).__name__)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(pynamodb.connection.base.Connection, "__init__", counting_init)
    assert api.register("warm@example.com").status_code == 201
    assert api.client.post("/api/v1/meetings", json=meeting, headers=host.headers).status_code == 201
    assert opened == []


def test_a_refresh_token_cannot_be_used_twice_even_concurrently(
    aws: Any, serialised_moto: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents_meetings.identity import service as identity_service

    service = AuthService(RecordingPublisher())
    service.register(NewAccount("admin@example.com", PASSWORD, "Admin"))
    _, pair = service.login("admin@example.com", PASSWORD)
    both_checked = threading.Barrier(2, timeout=2)
    revoke = identity_service.revoke

    def revoke_once_both_have_checked(*args: Any, **kwargs: Any) -> bool:
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait()  # both requests have passed the deny-list check: the race window
        return revoke(*args, **kwargs)

    monkeypatch.setattr(identity_service, "revoke", revoke_once_both_have_checked)

    def refresh(_: int) -> str:
        try:
            service.refresh(pair.refresh_token)
        except Exception as exc:  # noqa: BLE001 - the loser's refusal is the expected outcome
            return type(exc).__name__
        return "refreshed"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(refresh, range(2)))
    # Never two exchanges of one token. The loser is a reuse, which ends the whole session (theft
    # detection), so whatever the winner got is dead as well: the session must be over.
    assert outcomes.count("refreshed") <= 1 and "Unauthenticated" in outcomes, outcomes
    session_id = service._tokens.decode(pair.refresh_token, "refresh", check_revoked=False).session_id
    assert SessionModel.get(session_id).revoked_reason == "refresh_token_reused"
