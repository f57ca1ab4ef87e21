"""/api/v1/users/me and /api/v1/admin/users, /api/v1/admin/audit-logs: profiles and administration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.pagination import encode_cursor
from agents_meetings.tables import UserModel
from http_support import assert_error, future, published

pytestmark = pytest.mark.integration

ME = "/api/v1/users/me"
USERS = "/api/v1/admin/users"
AUDIT = "/api/v1/admin/audit-logs"
UNKNOWN_USER = "00000000-0000-0000-0000-000000000000"
USER_FIELDS = {
    "id",
    "email",
    "full_name",
    "role",
    "status",
    "is_active",
    "timezone",
    "bio",
    "expertise",
    "created_at",
    "updated_at",
}


def audit_actions(client: Any, admin: Any, target_id: str) -> list[str]:
    response = client.get(f"{AUDIT}?target_id={target_id}&limit=100", headers=admin.headers)
    assert response.status_code == 200, response.text
    return [entry["action"] for entry in response.json()["items"]]


def walk(client: Any, url: str, headers: dict[str, str], limit: int) -> list[list[dict[str, Any]]]:
    """Every page of a listing, following next_cursor."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    for _ in range(50):
        separator = "&" if "?" in url else "?"
        page_url = f"{url}{separator}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(page_url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the listing never ended")


# --- my profile -----------------------------------------------------------------------------


def test_get_me_returns_my_profile(api: Any, make_user: Any) -> None:
    user = make_user("teacher", full_name="Ada Lovelace")
    response = api.client.get(ME, headers=user.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["id"] == user.id and body["email"] == user.email
    assert (body["role"], body["status"], body["is_active"]) == ("teacher", "approved", True)
    assert body["full_name"] == "Ada Lovelace" and body["timezone"] == "UTC"
    assert body["bio"] is None and body["expertise"] == []


def test_get_me_needs_a_token(api: Any) -> None:
    assert_error(api.client.get(ME), 401, "not_authenticated")


def test_patch_me_changes_my_profile_audits_it_and_publishes_it(api: Any, admin: Any, make_user: Any, aws: Any) -> None:
    user = make_user()
    changes = {
        "full_name": " Ada King ",
        "timezone": "Europe/London",
        "bio": "Mathematician",
        "expertise": ["analysis", "engines"],
    }
    response = api.client.patch(ME, json=changes, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["full_name"] == "Ada King"
    assert (body["timezone"], body["bio"], body["expertise"]) == (
        "Europe/London",
        "Mathematician",
        ["analysis", "engines"],
    )
    assert body["updated_at"] >= body["created_at"]
    assert api.client.get(ME, headers=user.headers).json() == body
    stored = UserModel.get(user.id)
    assert (stored.full_name, stored.timezone) == ("Ada King", "Europe/London")
    assert audit_actions(api.client, admin, user.id)[0] == "user.profile_updated"
    [event] = published(aws, DomainEvent.USER_PROFILE_UPDATED, user_id=user.id)
    assert event["fields"] == ["bio", "expertise", "full_name", "timezone"]


def test_patch_me_with_nothing_changes_nothing(api: Any, admin: Any, make_user: Any, aws: Any) -> None:
    user = make_user()
    before = api.client.get(ME, headers=user.headers).json()
    response = api.client.patch(ME, json={}, headers=user.headers)
    assert response.status_code == 200 and response.json() == before
    assert "user.profile_updated" not in audit_actions(api.client, admin, user.id)
    assert published(aws, DomainEvent.USER_PROFILE_UPDATED, user_id=user.id) == []


BAD_PROFILE_CHANGES: list[tuple[dict[str, Any], str]] = [
    ({"timezone": "Mars/Olympus_Mons"}, "invalid_timezone"),
    ({"timezone": "utc"}, "invalid_timezone"),
    ({"timezone": ""}, "validation_error"),
    ({"role": "admin"}, "validation_error"),
    ({"status": "approved"}, "validation_error"),
    ({"email": "new@example.com"}, "validation_error"),
    ({"is_active": True}, "validation_error"),
    ({"full_name": ""}, "validation_error"),
    ({"full_name": "x" * 201}, "validation_error"),
    ({"bio": "x" * 5001}, "validation_error"),
    ({"expertise": ["x"] * 31}, "validation_error"),
    ({"expertise": ["x" * 51]}, "validation_error"),
    ({"expertise": "analysis"}, "validation_error"),
]


def test_patch_me_refuses_bad_or_unknown_fields_and_changes_nothing(api: Any, make_user: Any, subtests: Any) -> None:
    user = make_user()
    before = api.client.get(ME, headers=user.headers).json()
    for changes, code in BAD_PROFILE_CHANGES:
        with subtests.test(changes=changes):
            assert_error(api.client.patch(ME, json=changes, headers=user.headers), 422, code)
            assert api.client.get(ME, headers=user.headers).json() == before


# --- listing users -----------------------------------------------------------------------------


@pytest.fixture
def population(make_user: Any, admin: Any, api: Any) -> dict[str, Any]:
    """Seven users besides the admin, in every role and state the filters distinguish."""
    users = {
        "teacher": make_user("teacher"),
        "host": make_user("host"),
        "participant": make_user("participant"),
        "second_participant": make_user("participant"),
        "pending": make_user(status="pending"),
        "rejected": make_user(status="rejected"),
        "inactive": make_user("host", active=False),
    }
    return {"admin": admin, **users}


def test_admin_lists_every_user_across_pages_without_duplicates_or_omissions(
    api: Any, admin: Any, population: dict[str, Any]
) -> None:
    pages = walk(api.client, USERS, admin.headers, limit=3)
    ids = [user["id"] for page in pages for user in page]
    assert len(ids) == len(set(ids)), "a user appeared twice"
    assert set(ids) == {account.id for account in population.values()}
    assert [len(page) for page in pages][:2] == [3, 3]
    assert all(set(user) == USER_FIELDS for page in pages for user in page)


USER_FILTERS: list[tuple[str, set[str]]] = [
    ("role=host", {"host", "inactive"}),
    ("role=participant", {"participant", "second_participant", "pending", "rejected"}),
    ("role=admin", {"admin"}),
    ("status=pending", {"pending"}),
    ("status=rejected", {"rejected"}),
    ("is_active=false", {"inactive"}),
    ("role=host&is_active=true", {"host"}),
    ("role=participant&status=approved", {"participant", "second_participant"}),
    ("status=approved&is_active=true", {"admin", "teacher", "host", "participant", "second_participant"}),
    ("role=teacher&status=pending", set()),
]


def test_admin_filters_users_by_role_activity_and_status_across_pages(
    api: Any, admin: Any, population: dict[str, Any], subtests: Any
) -> None:
    for query, expected in USER_FILTERS:
        with subtests.test(query=query):
            pages = walk(api.client, f"{USERS}?{query}", admin.headers, limit=2)
            ids = [user["id"] for page in pages for user in page]
            assert len(ids) == len(set(ids))
            assert set(ids) == {population[name].id for name in expected}


def test_a_filtered_listing_is_newest_first(api: Any, admin: Any, population: dict[str, Any]) -> None:
    items = api.client.get(f"{USERS}?status=approved", headers=admin.headers).json()["items"]
    created = [user["created_at"] for user in items]
    assert created == sorted(created, reverse=True)


def test_an_unfiltered_listing_is_newest_first(api: Any, admin: Any, make_user: Any) -> None:
    make_user()
    make_user()
    items = api.client.get(USERS, headers=admin.headers).json()["items"]
    created = [user["created_at"] for user in items]
    assert created == sorted(created, reverse=True)


def test_bad_listing_parameters_are_rejected(api: Any, admin: Any, subtests: Any) -> None:
    for query in ("role=superuser", "status=unknown", "is_active=maybe", "limit=0", "limit=101", "limit=abc"):
        with subtests.test(query=query):
            assert_error(api.client.get(f"{USERS}?{query}", headers=admin.headers), 422, "validation_error")
    with subtests.test(query="cursor longer than 2048"):
        assert_error(api.client.get(f"{USERS}?cursor={'x' * 2049}", headers=admin.headers), 422, "validation_error")
    for cursor in ("not-a-cursor", "W10", "eyJ", encode_cursor({})[:-1] + "!"):
        with subtests.test(cursor=cursor):
            assert_error(api.client.get(f"{USERS}?cursor={cursor}", headers=admin.headers), 400, "invalid_cursor")


def test_a_cursor_from_another_listing_or_tampered_is_400_not_500(
    quiet_client: Any, admin: Any, make_user: Any
) -> None:
    make_user()
    make_user()
    other_listing_cursor = quiet_client.get(f"{USERS}?limit=1", headers=admin.headers).json()["next_cursor"]
    assert other_listing_cursor
    tampered = [encode_cursor({"id": "plain-string"}), encode_cursor({"month": {"S": "x"}, "x": {"N": "1"}})]
    requests = [
        f"{url}{sep}cursor={cursor}"
        for url, sep in ((USERS, "?"), (f"{USERS}?status=approved", "&"), (AUDIT, "?"))
        for cursor in tampered
    ]
    requests.append(f"{AUDIT}?cursor={other_listing_cursor}")
    outcomes = {url: quiet_client.get(url, headers=admin.headers) for url in requests}
    statuses = {
        url: (response.status_code, response.json().get("error", {}).get("code")) for url, response in outcomes.items()
    }
    assert set(statuses.values()) == {(400, "invalid_cursor")}, statuses


# --- admin only --------------------------------------------------------------------------------


ADMIN_CALLS = [
    ("get", USERS, None),
    ("get", f"{USERS}/{{id}}", None),
    ("post", f"{USERS}/{{id}}/approve", None),
    ("post", f"{USERS}/{{id}}/reject", None),
    ("put", f"{USERS}/{{id}}/role", {"role": "teacher"}),
    ("post", f"{USERS}/{{id}}/deactivate", None),
    ("post", f"{USERS}/{{id}}/activate", None),
    ("get", AUDIT, None),
]


def test_administration_is_forbidden_to_non_admins(api: Any, make_user: Any, subtests: Any) -> None:
    target = make_user(status="pending")
    for role in ("participant", "host", "teacher"):
        caller = make_user(role)
        for method, url, body in ADMIN_CALLS:
            with subtests.test(role=role, method=method, url=url):
                response = api.client.request(method, url.format(id=target.id), json=body, headers=caller.headers)
                assert_error(response, 403, "admin_required")
    assert UserModel.get(target.id).status == "pending", "nothing happened to the target"


def test_administration_needs_a_token(api: Any, make_user: Any) -> None:
    target = make_user(status="pending")
    for method, url, body in ADMIN_CALLS:
        response = api.client.request(method, url.format(id=target.id), json=body)
        assert_error(response, 401, "not_authenticated")


def test_an_unknown_or_malformed_user_id_is_404_or_422(api: Any, admin: Any, subtests: Any) -> None:
    for method, url, body in [call for call in ADMIN_CALLS if "{id}" in call[1]]:
        with subtests.test(method=method, url=url):
            response = api.client.request(method, url.format(id=UNKNOWN_USER), json=body, headers=admin.headers)
            assert_error(response, 404, "user_not_found")
    for bad_id in ("not%20valid", "x" * 65, "abc$"):
        with subtests.test(bad_id=bad_id):
            assert_error(api.client.get(f"{USERS}/{bad_id}", headers=admin.headers), 422, "validation_error")


def test_admin_reads_one_user(api: Any, admin: Any, make_user: Any) -> None:
    user = make_user(status="pending")
    body = api.client.get(f"{USERS}/{user.id}", headers=admin.headers).json()
    assert (body["id"], body["email"], body["status"]) == (user.id, user.email, "pending")


# --- approve and reject -------------------------------------------------------------------------


def test_approving_a_pending_user_lets_them_sign_in(api: Any, admin: Any, make_user: Any, aws: Any) -> None:
    user = make_user(status="pending")
    assert_error(api.login(user.email), 403, "account_pending")
    response = api.client.post(f"{USERS}/{user.id}/approve", headers=admin.headers)
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert api.login(user.email).status_code == 200
    [event] = published(aws, DomainEvent.USER_APPROVED, user_id=user.id)
    assert event["approved_by"] == admin.id
    assert "user.approved" in audit_actions(api.client, admin, user.id)


def test_a_rejected_user_can_still_be_approved(api: Any, admin: Any, make_user: Any) -> None:
    user = make_user(status="rejected")
    response = api.client.post(f"{USERS}/{user.id}/approve", headers=admin.headers)
    assert response.status_code == 200 and response.json()["status"] == "approved"


def test_approving_an_approved_user_is_idempotent(api: Any, admin: Any, make_user: Any) -> None:
    user = make_user()
    before = UserModel.get(user.id)
    response = api.client.post(f"{USERS}/{user.id}/approve", headers=admin.headers)
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert UserModel.get(user.id).updated_at == before.updated_at


def test_a_no_op_approval_or_rejection_publishes_nothing(api: Any, admin: Any, make_user: Any, aws: Any) -> None:
    approved = make_user()
    rejected = make_user(status="rejected")
    api.client.post(f"{USERS}/{approved.id}/approve", headers=admin.headers)
    api.client.post(f"{USERS}/{rejected.id}/reject", headers=admin.headers)
    assert len(published(aws, DomainEvent.USER_APPROVED, user_id=approved.id)) == 1
    assert len(published(aws, DomainEvent.USER_REJECTED, user_id=rejected.id)) == 1
    assert audit_actions(api.client, admin, approved.id).count("user.approved") == 1


def test_rejecting_a_pending_user_records_the_reason(api: Any, admin: Any, make_user: Any, aws: Any) -> None:
    user = make_user(status="pending")
    response = api.client.post(f"{USERS}/{user.id}/reject", json={"reason": "unknown person"}, headers=admin.headers)
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert_error(api.login(user.email), 403, "account_rejected")
    [event] = published(aws, DomainEvent.USER_REJECTED, user_id=user.id)
    assert event["rejected_by"] == admin.id and event["reason"] == "unknown person"
    entries = api.client.get(f"{AUDIT}?target_id={user.id}", headers=admin.headers).json()["items"]
    rejection = next(entry for entry in entries if entry["action"] == "user.rejected")
    assert rejection["details"] == {"reason": "unknown person"} and rejection["actor_id"] == admin.id


def test_rejecting_an_approved_user_is_a_409_and_changes_nothing(api: Any, admin: Any, make_user: Any) -> None:
    user = make_user()
    error = assert_error(
        api.client.post(f"{USERS}/{user.id}/reject", headers=admin.headers), 409, "invalid_status_transition"
    )
    assert error["details"] == {"status": "approved"}
    assert UserModel.get(user.id).status == "approved"
    assert api.client.get(ME, headers=user.headers).status_code == 200


def test_an_admin_cannot_reject_themselves(api: Any, admin: Any) -> None:
    assert_error(api.client.post(f"{USERS}/{admin.id}/reject", headers=admin.headers), 409, "cannot_change_self")


def test_a_bad_rejection_body_is_422(api: Any, admin: Any, make_user: Any, subtests: Any) -> None:
    user = make_user(status="pending")
    for body in ({"reason": "x" * 1001}, {"reason": "ok", "ban": True}, {"reason": 42}):
        with subtests.test(body=body):
            response = api.client.post(f"{USERS}/{user.id}/reject", json=body, headers=admin.headers)
            assert_error(response, 422, "validation_error")
    assert UserModel.get(user.id).status == "pending"


# --- roles ------------------------------------------------------------------------------------


def test_admin_changes_a_role_and_it_is_published(api: Any, admin: Any, make_user: Any, aws: Any) -> None:
    user = make_user()
    response = api.client.put(f"{USERS}/{user.id}/role", json={"role": "teacher"}, headers=admin.headers)
    assert response.status_code == 200 and response.json()["role"] == "teacher"
    [event] = published(aws, DomainEvent.USER_ROLE_CHANGED, user_id=user.id)
    assert (event["old_role"], event["new_role"], event["changed_by"]) == ("participant", "teacher", admin.id)
    assert "user.role_changed" in audit_actions(api.client, admin, user.id)


def test_setting_the_same_role_changes_nothing(api: Any, admin: Any, make_user: Any, aws: Any) -> None:
    user = make_user("host")
    before = len(published(aws, DomainEvent.USER_ROLE_CHANGED, user_id=user.id))
    response = api.client.put(f"{USERS}/{user.id}/role", json={"role": "host"}, headers=admin.headers)
    assert response.status_code == 200 and response.json()["role"] == "host"
    assert len(published(aws, DomainEvent.USER_ROLE_CHANGED, user_id=user.id)) == before


def test_an_admin_cannot_change_their_own_role(api: Any, admin: Any) -> None:
    response = api.client.put(f"{USERS}/{admin.id}/role", json={"role": "participant"}, headers=admin.headers)
    assert_error(response, 409, "cannot_change_self")
    assert UserModel.get(admin.id).role == "admin"


def test_a_bad_role_body_is_422(api: Any, admin: Any, make_user: Any, subtests: Any) -> None:
    user = make_user()
    for body in ({"role": "superuser"}, {"role": "Admin"}, {}, {"role": "host", "status": "approved"}, {"role": None}):
        with subtests.test(body=body):
            response = api.client.put(f"{USERS}/{user.id}/role", json=body, headers=admin.headers)
            assert_error(response, 422, "validation_error")
    assert UserModel.get(user.id).role == "participant"


def test_a_promotion_applies_to_the_very_next_request(api: Any, admin: Any, make_user: Any) -> None:
    user = make_user()
    meeting = {"title": "Office hours", "scheduled_at": future()}
    assert_error(api.client.post("/api/v1/meetings", json=meeting, headers=user.headers), 403, "organiser_required")
    api.client.put(f"{USERS}/{user.id}/role", json={"role": "host"}, headers=admin.headers)
    response = api.client.post("/api/v1/meetings", json=meeting, headers=user.headers)
    assert response.status_code == 201, "the same token now carries the new role"


def test_a_demoted_admin_loses_admin_rights_at_once(api: Any, admin: Any, make_user: Any) -> None:
    second_admin = make_user("admin")
    assert api.client.get(USERS, headers=second_admin.headers).status_code == 200
    api.client.put(f"{USERS}/{second_admin.id}/role", json={"role": "participant"}, headers=admin.headers)
    assert_error(api.client.get(USERS, headers=second_admin.headers), 403, "admin_required")


# --- activation -------------------------------------------------------------------------------


def test_deactivation_locks_the_user_out_at_once_and_activation_lets_them_back(
    api: Any, admin: Any, make_user: Any
) -> None:
    user = make_user()
    response = api.client.post(f"{USERS}/{user.id}/deactivate", headers=admin.headers)
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert_error(api.client.get(ME, headers=user.headers), 403, "account_inactive")
    assert_error(api.login(user.email), 403, "account_inactive")
    response = api.client.post(f"{USERS}/{user.id}/activate", headers=admin.headers)
    assert response.status_code == 200 and response.json()["is_active"] is True
    actions = audit_actions(api.client, admin, user.id)
    assert actions[:2] == ["user.activated", "user.deactivated"]
    fresh = api.tokens(user.email)  # signing in again (old tokens: see the next test)
    assert api.client.get(ME, headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 200


def test_tokens_issued_before_a_deactivation_stay_dead_after_reactivation(api: Any, admin: Any, make_user: Any) -> None:
    user = make_user()
    second = api.tokens(user.email)  # another device
    assert api.client.post(f"{USERS}/{user.id}/deactivate", headers=admin.headers).status_code == 200
    assert api.client.post(f"{USERS}/{user.id}/activate", headers=admin.headers).status_code == 200
    for tokens in (user.tokens, second):
        access = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert_error(api.client.get(ME, headers=access), 401)
        refreshed = api.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert_error(refreshed, 401)
    fresh = api.tokens(user.email)  # signing in again works
    assert api.client.get(ME, headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 200
    sessions = api.client.get("/api/v1/auth/sessions", headers={"Authorization": f"Bearer {fresh['access_token']}"})
    assert sessions.status_code == 200 and len(sessions.json()) == 1, "the old sessions were ended"


def test_deactivating_twice_is_idempotent(api: Any, admin: Any, make_user: Any) -> None:
    user = make_user(active=False)
    response = api.client.post(f"{USERS}/{user.id}/deactivate", headers=admin.headers)
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert audit_actions(api.client, admin, user.id).count("user.deactivated") == 1


def test_an_admin_cannot_deactivate_themselves(api: Any, admin: Any) -> None:
    assert_error(api.client.post(f"{USERS}/{admin.id}/deactivate", headers=admin.headers), 409, "cannot_change_self")
    assert api.client.get(ME, headers=admin.headers).status_code == 200


# --- audit log --------------------------------------------------------------------------------


def test_the_audit_log_of_the_month_is_newest_first_and_pages(api: Any, admin: Any, make_user: Any) -> None:
    make_user("host")
    make_user(status="pending")
    pages = walk(api.client, AUDIT, admin.headers, limit=2)
    entries = [entry for page in pages for entry in page]
    assert len(entries) == 7, "admin: registered, login; host: registered, approved, role, login; pending: registered"
    assert len({entry["id"] for entry in entries}) == len(entries)
    stamps = [entry["timestamp"] for entry in entries]
    assert stamps == sorted(stamps, reverse=True)
    month = datetime.now(UTC).strftime("%Y-%m")
    same = walk(api.client, f"{AUDIT}?month={month}", admin.headers, limit=50)
    assert [entry["id"] for page in same for entry in page] == [entry["id"] for entry in entries]
    assert all(stamp.startswith(month) for stamp in stamps)


def test_an_audit_entry_names_actor_source_ip_and_request_id(api: Any, admin: Any, make_user: Any) -> None:
    user = make_user(status="pending")
    response = api.client.post(f"{USERS}/{user.id}/approve", headers={**admin.headers, "X-Request-Id": "req-approve-1"})
    assert response.headers["X-Request-Id"] == "req-approve-1"
    entries = api.client.get(f"{AUDIT}?target_id={user.id}", headers=admin.headers).json()["items"]
    approval = next(entry for entry in entries if entry["action"] == "user.approved")
    assert approval["actor_id"] == admin.id
    assert approval["target_type"] == "user" and approval["target_id"] == user.id
    assert approval["request_id"] == "req-approve-1"
    assert approval["source_ip"] == "testclient"
    assert approval["timestamp"].endswith("Z")


def test_an_empty_month_has_no_entries(api: Any, admin: Any) -> None:
    body = api.client.get(f"{AUDIT}?month=2001-01", headers=admin.headers).json()
    assert body == {"items": [], "next_cursor": None}


def test_bad_audit_filters_are_422(api: Any, admin: Any, subtests: Any) -> None:
    for query in ("month=2026-13", "month=26-01", "month=2026-1", "month=2026-00", "target_id=" + "x" * 65, "limit=0"):
        with subtests.test(query=query):
            assert_error(api.client.get(f"{AUDIT}?{query}", headers=admin.headers), 422, "validation_error")


def test_filtering_the_audit_log_by_month_and_target_at_once_is_422(api: Any, admin: Any) -> None:
    response = api.client.get(f"{AUDIT}?month=2026-01&target_id={admin.id}", headers=admin.headers)
    assert_error(response, 422, "conflicting_filters")


def test_the_audit_log_cannot_be_changed_through_the_api(api: Any, admin: Any, subtests: Any) -> None:
    for method in ("put", "patch", "delete", "post"):
        with subtests.test(method=method):
            assert_error(api.client.request(method, AUDIT, headers=admin.headers), 405, "method_not_allowed")


# --- statistics ------------------------------------------------------------------------------


def test_a_new_user_has_empty_statistics(api: Any, make_user: Any) -> None:
    user = make_user()
    response = api.client.get(f"{ME}/statistics", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == {"user_id": user.id, "meetings_hosted": 0, "meetings_attended": 0, "attended_seconds": 0}
