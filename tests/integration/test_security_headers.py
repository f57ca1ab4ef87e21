"""Security headers are present in all responses (spec 3.1): successes, every error status, the docs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from agents_meetings.http.security_headers import API_CSP, DOCS_CSP
from agents_meetings.users.service import UserService
from http_support import FakeLambdaContext, api_gateway_event

pytestmark = pytest.mark.integration

ME = "/api/v1/users/me"
EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-xss-protection": "0",
    "referrer-policy": "no-referrer",
}


def assert_security_headers(response: Any, csp: str = API_CSP) -> None:
    headers = {name.lower(): value for name, value in response.headers.items()}
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, (response.status_code, name, headers)
    assert headers.get("content-security-policy") == csp, headers
    if csp == API_CSP:
        # A JSON GET with an ETag (issue 13: conditional GETs) may be kept by the caller's own client
        # for revalidation only; anything else is never stored.
        expected = "private, no-cache" if "etag" in headers else "no-store"
        assert headers.get("cache-control") == expected, headers


def test_security_headers_are_present_in_successful_responses(client: Any, admin: Any) -> None:
    assert_security_headers(client.get("/api/v1/health"))
    assert_security_headers(client.get(ME, headers=admin.headers))
    assert_security_headers(client.get("/api/openapi.json"))


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", ME, None, 401),
        ("GET", "/api/v1/no-such-route", None, 404),
        ("DELETE", "/api/v1/health", None, 405),
        ("POST", "/api/v1/auth/login", {"email": "not-an-email"}, 422),
        ("POST", "/api/v1/auth/password-reset/confirm", {"token": "nope", "new_password": "Xx-1234567890"}, 400),
    ],
)
def test_security_headers_are_present_in_error_responses(
    client: Any, method: str, path: str, body: Any, status: int
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert_security_headers(response)


def test_security_headers_are_present_in_403_responses(client: Any, make_user: Any) -> None:
    user = make_user()
    response = client.get("/api/v1/admin/users", headers=user.headers)
    assert response.status_code == 403
    assert_security_headers(response)


def test_security_headers_are_present_in_a_500_response(
    quiet_client: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user()

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(UserService, "update_profile", explode)
    response = quiet_client.patch(ME, json={"bio": "hi"}, headers=user.headers)
    assert response.status_code == 500
    assert_security_headers(response)
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_get_a_policy_that_lets_their_cdn_assets_load(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert_security_headers(response, csp=DOCS_CSP)
    # Every external script and stylesheet the page loads is allowed by the policy.
    for url in re.findall(r'(?:src|href)="(https://[^"]+)"', response.text):
        origin = "/".join(url.split("/")[:3])
        assert origin in DOCS_CSP, url


def test_the_api_policy_forbids_everything(client: Any) -> None:
    csp = client.get("/api/v1/health").headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


def test_security_headers_are_present_through_the_lambda_handler(aws: Any, load_handler: Any) -> None:
    module = load_handler("auth")
    response = module.handler(api_gateway_event("GET", "/api/v1/auth/nothing-here"), FakeLambdaContext())
    assert response["statusCode"] == 404
    headers = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
    headers = {k: v[0] for k, v in headers.items()} | {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, headers
