"""The API's contract at its edge (issue 11): text without control or bidi characters, bounded
dates, strict booleans and numbers, admin routes that authorise before they validate, 405 with a
full ``Allow``, and the documented 400 ``invalid_cursor``."""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from agents_meetings.http.routers import ALL_ROUTERS
from agents_meetings.http.schemas import PlainLine, PlainText
from agents_meetings.http.security import AdminRoute
from agents_meetings.settings import reset_settings
from fastapi.routing import APIRoute
from http_support import assert_error, future
from pydantic import BaseModel

pytestmark = pytest.mark.integration

MEETINGS = "/api/v1/meetings"
POLICIES = "/api/v1/admin/storage-policies"
TEXT_CHECKS = {get_args(PlainLine)[1], get_args(PlainText)[1]}
# Body strings that are not user-visible text: secrets, tokens and codes (compared, never shown),
# and values with their own grammar (patterns, parsed rates, IP networks, phone numbers).
NOT_DISPLAYED_TEXT = {
    "RegisterIn.password",
    "LoginIn.password",
    "RefreshIn.refresh_token",
    "LogoutIn.refresh_token",
    "ChangePasswordIn.current_password",
    "ChangePasswordIn.new_password",
    "PasswordResetConfirmIn.token",
    "PasswordResetConfirmIn.new_password",
    "TwoFactorCodeIn.code",
    "TwoFactorLoginIn.challenge_token",
    "TwoFactorLoginIn.code",
    "SmsEnrolIn.phone",
    "SmsConfirmIn.code",
    "SmsSendIn.challenge_token",
    "DirectoryLoginIn.password",
    "InviteIn.user_ids[]",
    "LimitIn.rate",
    "AllowListIn.network",
    "ResetIn.caller",
    "StartIn.meeting_id",
    "StopIn.meeting_id",
}


def _leaves(annotation: Any, metadata: tuple[Any, ...] = (), where: str = "") -> Iterator[tuple[str, Any, tuple]]:
    """Every scalar in a body model, with the metadata (validators, constraints) that applies to it."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *more = get_args(annotation)
        yield from _leaves(base, metadata + tuple(more), where)
    elif origin in (Union, types.UnionType):
        for member in get_args(annotation):
            yield from _leaves(member, metadata, where)
    elif origin in (list, dict, set, frozenset, tuple):
        for position, member in enumerate(get_args(annotation)):
            yield from _leaves(member, (), where + ("[key]" if origin is dict and position == 0 else "[]"))
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            inner = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
            yield from _leaves(inner, (), f"{annotation.__name__}.{name}")
    else:
        yield where, annotation, metadata


def _body_scalars() -> list[tuple[str, str, Any, tuple]]:
    found = []
    for router in ALL_ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for body in route.dependant.body_params:
                    for where, kind, metadata in _leaves(body.field_info.annotation):
                        found.append((route.path, where, kind, metadata))
    return found


# --- text ---------------------------------------------------------------------------------------


def test_every_user_visible_text_field_of_every_body_refuses_control_and_bidi_characters() -> None:
    texts = [(path, where, metadata) for path, where, kind, metadata in _body_scalars() if kind is str]
    assert len(texts) >= 40
    unchecked = sorted(
        f"{path} {where}"
        for path, where, metadata in texts
        if where not in NOT_DISPLAYED_TEXT and not TEXT_CHECKS & set(metadata)
    )
    assert unchecked == []


@pytest.fixture
def host(make_user: Any) -> Any:
    return make_user("host")


BAD_TEXT = ["A\x00B", "evil\u202etxt.exe", "isolate\u2066x\u2069", "bell\x07", "line\nbreak", "esc\x1b[31m"]


def test_names_titles_and_descriptions_with_control_or_bidi_characters_are_422(
    client: Any, api: Any, admin: Any, host: Any, subtests: Any
) -> None:
    meeting = client.post(MEETINGS, json={"title": "Fine", "scheduled_at": future()}, headers=host.headers).json()
    requests: list[tuple[str, str, dict[str, str], Any]] = []
    for bad in BAD_TEXT:
        requests += [
            ("post", "/api/v1/auth/register", {}, {"email": "x@example.com", "password": "x", "full_name": bad}),
            ("patch", "/api/v1/users/me", host.headers, {"full_name": bad}),
            ("patch", "/api/v1/users/me", host.headers, {"expertise": [bad]}),
            ("post", MEETINGS, host.headers, {"title": bad, "scheduled_at": future()}),
            ("patch", f"{MEETINGS}/{meeting['id']}", host.headers, {"tags": [bad]}),
            ("post", POLICIES, admin.headers, {"policy_name": bad, "retention_days": 30}),
            ("post", "/api/v1/admin/announcements", admin.headers, {"title": bad, "message": "m"}),
            (
                "post",
                "/api/v1/materials",
                host.headers,
                {"title": bad, "filename": "a.pdf", "content_type": "application/pdf", "size_bytes": 10},
            ),
        ]
    for bad in [b for b in BAD_TEXT if "\n" not in b]:  # multi-line text: line breaks are fine
        requests += [
            ("patch", f"{MEETINGS}/{meeting['id']}", host.headers, {"description": bad}),
            ("post", "/api/v1/admin/announcements", admin.headers, {"title": "t", "message": bad}),
        ]
    for method, path, headers, body in requests:
        with subtests.test(method=method, path=path, body=body):
            error = assert_error(client.request(method, path, json=body, headers=headers), 422, "validation_error")
            assert "characters" in error["details"]["errors"][0]["problem"]


def test_line_breaks_and_tabs_stay_fine_in_descriptions_and_unicode_text_stays_fine_everywhere(
    client: Any, host: Any
) -> None:
    body = {"title": "Café · 数学 ✓", "description": "Line one\n\tLine two\r\n", "scheduled_at": future()}
    response = client.post(MEETINGS, json=body, headers=host.headers)
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "Café · 数学 ✓"


# --- dates --------------------------------------------------------------------------------------


@pytest.fixture
def search_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from agents_meetings.search import embedded

    monkeypatch.setenv("SEARCH_INDEX_DIR", str(tmp_path / "search"))
    reset_settings()
    yield
    embedded.embedded_engine.cache_clear()


@pytest.mark.parametrize(
    "query",
    [
        {"from": "3000-01-01T00:00:00Z"},
        {"to": "0361-01-01T00:00:00Z"},
        {"from": "1969-12-31T23:59:59Z"},
        {"to": "0.5"},  # pydantic alone reads numbers as Unix timestamps
        {"to": "1700000000"},
        {"from": "2031-01-01T00:00:00"},  # no timezone
    ],
)
def test_dates_out_of_range_or_not_iso_8601_are_422_in_queries(
    quiet_client: Any, host: Any, search_index: None, query: dict[str, str]
) -> None:
    for path in ("/api/v1/search/meetings", MEETINGS):
        assert_error(quiet_client.get(path, params=query, headers=host.headers), 422, "validation_error")


@pytest.mark.parametrize("scheduled_at", ["3000-01-01T00:00:00Z", "0361-06-01T00:00:00Z", 1893456000, 0.5, "0.5"])
def test_a_meeting_scheduled_out_of_range_or_not_in_iso_8601_is_422(client: Any, host: Any, scheduled_at: Any) -> None:
    response = client.post(MEETINGS, json={"title": "t", "scheduled_at": scheduled_at}, headers=host.headers)
    assert_error(response, 422, "validation_error")
    created = client.post(MEETINGS, json={"title": "t", "scheduled_at": future()}, headers=host.headers).json()
    moved = client.patch(f"{MEETINGS}/{created['id']}", json={"scheduled_at": scheduled_at}, headers=host.headers)
    assert_error(moved, 422, "validation_error")


def test_dates_at_the_ends_of_the_range_are_accepted(client: Any, host: Any, search_index: None) -> None:
    params = {"from": "1970-01-01T00:00:00Z", "to": "2100-12-31T23:59:59Z"}
    assert client.get("/api/v1/search/meetings", params=params, headers=host.headers).status_code == 200
    assert client.get(MEETINGS, params=params, headers=host.headers).status_code == 200


# --- strict booleans and numbers ------------------------------------------------------------


def test_every_boolean_and_integer_of_every_body_is_strict() -> None:
    lax = sorted(
        f"{path} {where}"
        for path, where, kind, metadata in _body_scalars()
        if kind in (bool, int) and not any(getattr(m, "strict", False) for m in metadata)
    )
    assert lax == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", POLICIES, {"policy_name": "p", "retention_days": 30, "auto_delete": 0}),
        ("post", POLICIES, {"policy_name": "p", "retention_days": 30, "auto_delete": "true"}),
        ("post", POLICIES, {"policy_name": "p", "retention_days": "30"}),
        ("post", POLICIES, {"policy_name": "p", "retention_days": 30.0}),
        ("post", POLICIES, {"policy_name": "p", "retention_days": 0.5}),
        ("post", MEETINGS, {"title": "t", "scheduled_at": future(), "auto_record": 1}),
        ("put", "/api/v1/notifications/preferences", {"channels": {"email": "yes"}}),
        ("put", "/api/v1/notifications/preferences", {"max_notifications_per_hour": "5"}),
        ("put", "/api/v1/admin/rate-limits/limits/login", {"rate": "5/minute", "shards": True}),
    ],
)
def test_booleans_and_numbers_in_bodies_are_strict(
    client: Any, admin: Any, method: str, path: str, body: dict[str, Any]
) -> None:
    assert_error(client.request(method, path, json=body, headers=admin.headers), 422, "validation_error")


def test_json_booleans_and_integers_are_still_accepted(client: Any, admin: Any) -> None:
    body = {"policy_name": "p", "retention_days": 30, "auto_delete": True}
    created = client.post(POLICIES, json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    changed = client.put(f"{POLICIES}/{created.json()['id']}", json={"auto_delete": False}, headers=admin.headers)
    assert changed.status_code == 200 and changed.json()["auto_delete"] is False


def test_integers_in_query_strings_refuse_fractions(client: Any, host: Any) -> None:
    assert_error(client.get(MEETINGS, params={"limit": "0.5"}, headers=host.headers), 422, "validation_error")
    assert client.get(MEETINGS, params={"limit": "5"}, headers=host.headers).status_code == 200


# --- admin routes authorise before they validate ----------------------------------------------


def _admin_routes() -> list[APIRoute]:
    return [
        route
        for router in ALL_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.path.startswith("/api/v1/admin")
    ]


def test_every_admin_route_checks_the_role_before_reading_the_request() -> None:
    routes = _admin_routes()
    assert len(routes) >= 20
    assert [route.path for route in routes if not isinstance(route, AdminRoute)] == []


BODIES: list[dict[str, Any]] = [
    {},
    {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
    {"json": {"unexpected": 1}},
    {"json": {"role": "nobody", "retention_days": -1, "rate": "x"}},
]


def test_a_non_admin_gets_403_and_an_anonymous_caller_401_on_every_admin_route_whatever_they_send(
    client: Any, make_user: Any, subtests: Any
) -> None:
    participant = make_user()
    for route in _admin_routes():
        path = route.path.replace("{", "").replace("}", "")  # parameters that fail their own validation
        for method in sorted(route.methods - {"HEAD"}):
            for body in BODIES:
                with subtests.test(method=method, path=route.path, body=body):
                    headers = {**participant.headers, **body.get("headers", {})}
                    extra = {k: v for k, v in body.items() if k != "headers"}
                    denied = client.request(method, path, headers=headers, **extra)
                    assert_error(denied, 403, "admin_required")
                    anonymous = client.request(method, path, headers=body.get("headers"), **extra)
                    assert_error(anonymous, 401, "not_authenticated")


def test_an_admin_still_gets_422_for_a_bad_admin_body(client: Any, admin: Any, make_user: Any) -> None:
    user = make_user()
    response = client.put(f"/api/v1/admin/users/{user.id}/role", json={"role": "nobody"}, headers=admin.headers)
    assert_error(response, 422, "validation_error")


# --- 405 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", f"{MEETINGS}/0123456789abcdef", {"GET", "PATCH"}),
        ("DELETE", "/api/v1/auth/login", {"POST"}),
        ("DELETE", "/api/v1/notifications/read-all", {"POST"}),  # not the DELETE of /{notification_id}
        ("GET", "/api/v1/recordings/start", {"POST"}),  # not the GET of /{recording_id}
        ("POST", "/api/v1/notifications/preferences", {"GET", "PUT"}),
        ("PATCH", "/api/v1/admin/storage-policies/0123", {"GET", "PUT"}),
    ],
)
def test_a_wrong_method_is_405_with_allow_listing_every_method_of_the_path(
    client: Any, method: str, path: str, allowed: set[str]
) -> None:
    response = client.request(method, path)
    error = assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) == allowed
    assert set(error["details"]["allowed_methods"]) == allowed


def test_every_documented_path_answers_405_with_its_documented_methods(client: Any, subtests: Any) -> None:
    schema = client.get("/api/openapi.json").json()
    for template, operations in schema["paths"].items():
        documented = {method.upper() for method in operations}
        path = template.replace("{", "p").replace("}", "0123456789abcdef01")
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - documented):
            with subtests.test(method=method, path=template):
                response = client.request(method, path)
                assert_error(response, 405, "method_not_allowed")
                assert set(response.headers["Allow"].split(", ")) == documented


# --- OpenAPI: invalid_cursor --------------------------------------------------------------


def test_every_list_with_a_cursor_documents_its_400_invalid_cursor(client: Any) -> None:
    schema = client.get("/api/openapi.json").json()
    lists = [
        (method, path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "cursor" and p["in"] == "query" for p in operation.get("parameters", []))
    ]
    assert len(lists) >= 5
    undocumented = [f"{method} {path}" for method, path, operation in lists if "400" not in operation["responses"]]
    assert undocumented == []
