"""The one JSON error shape, storage failures, request ids, OpenAPI, Swagger UI, ReDoc and health."""

from __future__ import annotations

import re
from typing import Any

import pytest
from agents_meetings.http.routers import ALL_ROUTERS
from agents_meetings.tables import UserModel
from agents_meetings.users.service import UserService
from botocore.exceptions import ClientError
from http_support import ERROR_KEYS, assert_error, future
from pynamodb.exceptions import GetError, PynamoDBConnectionError, QueryError

pytestmark = pytest.mark.integration

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ME = "/api/v1/users/me"


def client_error(code: str, operation: str = "GetItem") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (simulated)"}}, operation)


# --- error shape --------------------------------------------------------------------------------


def test_an_unknown_route_is_a_json_404_with_a_request_id(client: Any) -> None:
    response = client.get("/api/v1/no-such-thing")
    error = assert_error(response, 404, "route_not_found")
    assert error["message"] == "No route for GET /api/v1/no-such-thing."
    assert UUID.match(error["request_id"])
    assert response.headers["X-Request-Id"] == error["request_id"]
    assert response.headers["content-type"].startswith("application/json")


def test_a_known_route_with_the_wrong_method_is_a_json_405(client: Any) -> None:
    assert_error(client.delete("/api/v1/auth/login"), 405, "method_not_allowed")


def test_the_request_id_sent_by_the_caller_is_echoed(client: Any) -> None:
    response = client.get("/api/v1/nowhere", headers={"X-Request-Id": "caller-chosen-id"})
    assert assert_error(response, 404)["request_id"] == "caller-chosen-id"
    assert response.headers["X-Request-Id"] == "caller-chosen-id"
    ok = client.get("/api/v1/health", headers={"X-Request-Id": "another"})
    assert ok.headers["X-Request-Id"] == "another"


def test_every_response_gets_a_fresh_request_id(client: Any) -> None:
    first = client.get("/api/v1/health").headers["X-Request-Id"]
    second = client.get("/api/v1/health").headers["X-Request-Id"]
    assert UUID.match(first) and UUID.match(second) and first != second


def test_every_error_status_uses_the_one_shape(client: Any, admin: Any, make_user: Any, subtests: Any) -> None:
    """One request per status the API produces, each checked against the shape and its header."""
    participant = make_user()
    host = make_user("host")
    meeting = client.post("/api/v1/meetings", json={"title": "t", "scheduled_at": future()}, headers=host.headers)
    meeting_id = meeting.json()["id"]
    cases = [
        ("400 bad cursor", client.get("/api/v1/admin/users?cursor=!!", headers=admin.headers), 400),
        ("401 no token", client.get(ME), 401),
        ("401 bad token", client.get(ME, headers={"Authorization": "Bearer x"}), 401),
        ("403 not admin", client.get("/api/v1/admin/users", headers=participant.headers), 403),
        ("404 hidden meeting", client.get(f"/api/v1/meetings/{meeting_id}", headers=participant.headers), 404),
        ("404 route", client.get("/nowhere"), 404),
        ("405 method", client.put("/api/v1/health"), 405),
        ("409 state", client.post(f"/api/v1/meetings/{meeting_id}/end", headers=host.headers), 409),
        ("422 body", client.post("/api/v1/auth/login", json={"email": "x"}), 422),
        ("422 domain", client.patch(ME, json={"timezone": "Nowhere/Land"}, headers=participant.headers), 422),
        ("422 query", client.get("/api/v1/admin/users?limit=0", headers=admin.headers), 422),
    ]
    for name, response, status in cases:
        with subtests.test(case=name):
            error = assert_error(response, status)
            assert set(error) == ERROR_KEYS
            assert re.fullmatch(r"[a-z_]+", error["code"]), error
            assert response.headers["X-Request-Id"] == error["request_id"]


def test_validation_errors_name_each_bad_field(client: Any) -> None:
    error = assert_error(
        client.post("/api/v1/auth/register", json={"email": "nope", "password": "x" * 300, "extra": 1}), 422
    )
    fields = {problem["field"] for problem in error["details"]["errors"]}
    assert {"email", "password", "full_name", "extra"} <= fields
    assert all(problem["problem"] and problem["type"] for problem in error["details"]["errors"])


# --- storage failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError"],
)
def test_a_throttled_database_is_a_503_with_retry_after(
    client: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    user = make_user()
    failure = GetError("Failed to get item", cause=client_error(code))
    assert failure.cause_response_code == code

    def throttled(cls: Any, *args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(UserModel, "get", classmethod(throttled))
    response = client.get(ME, headers=user.headers)
    assert_error(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "1"
    assert code not in response.text


def test_a_lost_database_connection_is_a_503(client: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()

    def unreachable(cls: Any, *args: Any, **kwargs: Any) -> Any:
        raise PynamoDBConnectionError("Connection refused")

    monkeypatch.setattr(UserModel, "get", classmethod(unreachable))
    response = client.get(ME, headers=user.headers)
    assert_error(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "1"


def test_a_permanent_database_error_is_a_500_not_a_retryable_503(
    client: Any, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = {}
    for code in ("ValidationException", "AccessDeniedException", "ResourceNotFoundException"):

        def broken(*args: Any, code: str = code, **kwargs: Any) -> Any:
            raise QueryError("Failed to query items", cause=client_error(code, "Query"))

        monkeypatch.setattr(UserModel.by_role, "query", broken)
        response = client.get("/api/v1/admin/users?role=host", headers=admin.headers)
        outcomes[code] = (response.status_code, response.json()["error"]["code"], "Retry-After" in response.headers)
    assert outcomes == dict.fromkeys(outcomes, (500, "internal_error", False))


def test_a_database_error_never_leaks_its_cause(client: Any, admin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise QueryError("Failed to query items", cause=client_error("ValidationException", "Query"))

    monkeypatch.setattr(UserModel.by_role, "query", broken)
    response = client.get("/api/v1/admin/users?role=host", headers=admin.headers)
    assert response.status_code >= 500
    assert_error(response, response.status_code)
    assert "ValidationException" not in response.text and "Failed to query" not in response.text


def test_an_unexpected_exception_is_a_500_that_leaks_nothing(
    quiet_client: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user()

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(UserService, "update_profile", explode)
    response = quiet_client.patch(ME, json={"bio": "hi"}, headers=user.headers)
    error = assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert UUID.match(error["request_id"])


def test_a_500_response_carries_the_request_id_header(
    quiet_client: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user()

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(UserService, "update_profile", explode)
    response = quiet_client.patch(ME, json={"bio": "hi"}, headers=user.headers)
    assert response.status_code == 500
    assert response.headers.get("X-Request-Id") == response.json()["error"]["request_id"]


def _concrete(path: str, ids: dict[str, str]) -> str:
    return (
        path.replace("{user_id}", ids["user_id"])
        .replace("{meeting_id}", ids["meeting_id"])
        .replace("{notification_id}", "0000000000000000abcd1234")
    )


def test_no_malformed_body_makes_any_route_fail_with_a_5xx(
    client: Any, admin: Any, make_user: Any, subtests: Any
) -> None:
    """Bad input is always 4xx: every route that takes a body gets garbage as the admin."""
    target = make_user(status="pending")
    meeting = client.post("/api/v1/meetings", json={"title": "t", "scheduled_at": future()}, headers=admin.headers)
    ids = {"user_id": target.id, "meeting_id": meeting.json()["id"]}
    schema = client.get("/api/openapi.json").json()
    garbage: list[dict[str, Any]] = [
        {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        {"content": b"[]", "headers": {"Content-Type": "application/json"}},
        {"content": b"null", "headers": {"Content-Type": "application/json"}},
        {"content": b'"text"', "headers": {"Content-Type": "application/json"}},
        {"content": b"1e999", "headers": {"Content-Type": "application/json"}},
        {"content": b'{"a": {"b": {"c": [1, 2, {"d": null}]}}}', "headers": {"Content-Type": "application/json"}},
        {"content": b"email=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {"content": "\u00e9\u0000".encode(), "headers": {"Content-Type": "application/json"}},
    ]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation or path == "/api/v1/auth/logout":
                continue
            for body in garbage:
                with subtests.test(method=method, path=path, body=body["content"][:20]):
                    response = client.request(
                        method.upper(),
                        _concrete(path, ids),
                        content=body["content"],
                        headers={**admin.headers, **body["headers"]},
                    )
                    assert response.status_code < 500, (response.status_code, response.text)
                    if response.status_code >= 400:
                        assert_error(response, response.status_code)


def test_every_protected_route_refuses_missing_revoked_and_deactivated_callers(
    client: Any, admin: Any, make_user: Any, subtests: Any
) -> None:
    """401 without a token or with a revoked one, 403 for a deactivated account: on every route."""
    revoked = make_user()
    client.post("/api/v1/auth/logout", headers=revoked.headers)
    deactivated = make_user(active=False)
    meeting = client.post("/api/v1/meetings", json={"title": "t", "scheduled_at": future()}, headers=admin.headers)
    ids = {"user_id": revoked.id, "meeting_id": meeting.json()["id"]}
    schema = client.get("/api/openapi.json").json()
    protected = [
        (method.upper(), _concrete(path, ids))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    ]
    # Foundation 23, two-factor 5 + SMS confirm 1, change-password 1, rate-limit admin 6, sessions 3
    # (list, end one, end all), recordings 9 (start, stop, details, a meeting's, 4 storage-policy,
    # apply-policy), transcripts 1, search 13, notifications 10, meeting feedback 2 and Q&A 3,
    # maintenance and feature announcements 2, cache stats 1, data views 5 (active meetings, presence,
    # dashboard, settings get and put). A new route raises the count: it is then checked below.
    assert len(protected) == 23 + 5 + 1 + 1 + 6 + 3 + 9 + 1 + 13 + 10 + 2 + 3 + 2 + 1 + 5, protected
    for method, path in protected:
        with subtests.test(method=method, path=path):
            assert_error(client.request(method, path), 401, "not_authenticated")
            assert_error(client.request(method, path, headers=revoked.headers), 401, "token_revoked")
            assert_error(client.request(method, path, headers=deactivated.headers), 403, "account_inactive")


# --- OpenAPI and the docs UIs -------------------------------------------------------------------


@pytest.fixture
def openapi(client: Any) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in openapi["paths"].items() for method, op in ops.items()]


def _router_operations() -> set[tuple[str, str]]:
    found = set()
    for router in ALL_ROUTERS:
        for route in router.routes:
            for method in getattr(route, "methods", set()) or set():
                found.add((route.path, method.lower()))
    return found


def test_openapi_lists_every_route_of_every_router(openapi: dict[str, Any]) -> None:
    documented = {(path, method) for path, method, _ in _operations(openapi)}
    expected = _router_operations()
    assert len(expected) >= 25
    assert expected == documented


def test_the_issues_endpoints_are_all_documented(openapi: dict[str, Any]) -> None:
    documented = {(method.upper(), path) for path, method, _ in _operations(openapi)}
    required = {
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/users/me"),
        ("PATCH", "/api/v1/users/me"),
        ("GET", "/api/v1/admin/users"),
        ("POST", "/api/v1/admin/users/{user_id}/approve"),
        ("POST", "/api/v1/admin/users/{user_id}/reject"),
        ("PUT", "/api/v1/admin/users/{user_id}/role"),
        ("POST", "/api/v1/meetings"),
        ("GET", "/api/v1/meetings"),
        ("GET", "/api/v1/meetings/{meeting_id}"),
        ("PATCH", "/api/v1/meetings/{meeting_id}"),
        ("POST", "/api/v1/meetings/{meeting_id}/cancel"),
        ("POST", "/api/v1/meetings/{meeting_id}/start"),
        ("POST", "/api/v1/meetings/{meeting_id}/end"),
        ("POST", "/api/v1/meetings/{meeting_id}/join"),
        ("POST", "/api/v1/meetings/{meeting_id}/leave"),
        ("POST", "/api/v1/meetings/{meeting_id}/participants"),
        ("GET", "/api/v1/meetings/{meeting_id}/participants"),
        ("GET", "/api/v1/health"),
    }
    assert required <= documented


def _schema_ref(response: dict[str, Any]) -> str | None:
    return response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")


def test_every_route_documents_its_errors_with_the_error_response_schema(openapi: dict[str, Any]) -> None:
    error_ref = "#/components/schemas/ErrorResponse"
    body = openapi["components"]["schemas"]["ErrorResponse"]
    assert body["properties"]["error"]["$ref"] == "#/components/schemas/ErrorBody"
    assert set(openapi["components"]["schemas"]["ErrorBody"]["properties"]) == ERROR_KEYS
    for path, method, operation in _operations(openapi):
        if path == "/api/v1/health":
            continue  # its 503 is a degraded health report, not an error
        documented_errors = {
            status for status, response in operation["responses"].items() if _schema_ref(response) == error_ref
        }
        assert documented_errors, f"{method.upper()} {path} documents no error response"
        if operation.get("security"):
            assert {"401", "403"} <= documented_errors, f"{method.upper()} {path}"


def test_every_documented_error_response_is_the_error_response_schema(openapi: dict[str, Any]) -> None:
    wrong = [
        f"{method.upper()} {path} {status}: {_schema_ref(response)}"
        for path, method, operation in _operations(openapi)
        if path != "/api/v1/health"
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5")) and _schema_ref(response) != "#/components/schemas/ErrorResponse"
    ]
    assert wrong == []


def test_protected_routes_declare_bearer_security(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    assert any(scheme.get("scheme") == "bearer" for scheme in schemes.values())
    public = {"/api/v1/health", "/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh"}
    # Password reset is for people who cannot sign in.
    public |= {"/api/v1/auth/password-reset/request", "/api/v1/auth/password-reset/confirm"}
    # The second login step: its credential is the challenge token in the body.
    public |= {"/api/v1/auth/2fa/login", "/api/v1/auth/2fa/sms/send"}
    # LiveKit's webhooks authenticate by a JWT signed with the API secret over the body's hash.
    public |= {"/api/v1/webhooks/livekit"}
    # Federated sign-in: the provider (OpenID, SAML IdP, directory) is what authenticates.
    public |= {
        "/api/v1/auth/oauth/{provider}/authorize",
        "/api/v1/auth/oauth/{provider}/callback",
        "/api/v1/auth/ldap/login",
        "/api/v1/auth/saml/login",
        "/api/v1/auth/saml/acs",
        "/api/v1/auth/saml/metadata",  # public by nature: the IdP's administrator downloads it
    }
    # An email's unsubscribe link: its signed token is the credential (one click, no sign-in).
    public |= {"/api/v1/notifications/unsubscribe"}
    for path, method, operation in _operations(openapi):
        assert bool(operation.get("security")) == (path not in public), f"{method.upper()} {path}"


def test_request_bodies_show_examples(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    for name in ("RegisterIn", "LoginIn", "MeetingIn", "MeetingPatch", "ProfileIn", "RoleIn", "InviteIn"):
        assert schemas[name].get("examples"), name


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_uis_are_html_pages_over_the_openapi_document(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/api/openapi.json" in response.text


# --- health ------------------------------------------------------------------------------------


def test_health_is_ok_without_authentication(client: Any) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["checks"] == {"database": "ok"}
    assert body["version"] and body["latency_ms"] >= 0


def test_health_is_degraded_when_the_database_is_unavailable(client: Any, aws: Any) -> None:
    aws.client("dynamodb").delete_table(TableName=UserModel.Meta.table_name)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded" and response.json()["checks"] == {"database": "unavailable"}
