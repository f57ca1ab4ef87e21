"""OpenID Connect sign-in with Google and Microsoft: discovery, authorization URL (state, nonce,
PKCE S256), code exchange and ID-token verification against the provider's JWKS.

Everything a provider says is checked: signature (keys from its JWKS, asymmetric algorithms only),
audience, issuer, expiry, nonce and, when an access token comes with it, ``at_hash``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from jose import JWTError, jwt

from agents_meetings.clock import utcnow
from agents_meetings.errors import NotFound, ServiceUnavailable, Unauthenticated
from agents_meetings.identity.federation_secrets import federation_secret
from agents_meetings.settings import Settings, get_settings

# Asymmetric only: a provider's ID token is never accepted under an HMAC algorithm.
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
METADATA_TTL_SECONDS = 3600
HTTP_TIMEOUT_SECONDS = 10.0
PROVIDERS = ("google", "microsoft")


@dataclass(frozen=True)
class OidcProvider:
    name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str = "openid email profile"


def provider_config(name: str, settings: Settings | None = None) -> OidcProvider:
    settings = settings or get_settings()
    if name not in PROVIDERS:
        raise NotFound(
            f"Unknown sign-in provider {name!r}; use one of {', '.join(PROVIDERS)}.", code="unknown_provider"
        )
    if name == "google":
        client_id, issuer = settings.oauth_google_client_id, settings.oauth_google_issuer
        secret = federation_secret("google_client_secret", settings.oauth_google_client_secret, settings)
    else:
        client_id = settings.oauth_microsoft_client_id
        secret = federation_secret("microsoft_client_secret", settings.oauth_microsoft_client_secret, settings)
        issuer = settings.oauth_microsoft_issuer or (
            f"https://login.microsoftonline.com/{settings.oauth_microsoft_tenant}/v2.0"
        )
    if not client_id or not secret:
        raise ServiceUnavailable(
            f"Sign-in with {name} is not configured on this platform.",
            code="provider_not_configured",
            retry_after_seconds=3600,
        )
    return OidcProvider(name=name, issuer=issuer.rstrip("/"), client_id=client_id, client_secret=secret)


def new_pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class OidcClient:
    """One provider's endpoints; metadata and keys cached per container."""

    _cache: dict[str, tuple[float, dict[str, Any]]] = {}
    _lock = threading.Lock()

    def __init__(self, provider: OidcProvider, http: httpx.Client | None = None):
        self.provider = provider
        self._http = http or httpx.Client(timeout=HTTP_TIMEOUT_SECONDS)

    def _unreachable(self) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"The {self.provider.name} sign-in service is unreachable; try again.",
            code="provider_unavailable",
            retry_after_seconds=30,
        )

    def _get_json(self, url: str, *, refresh: bool = False) -> dict[str, Any]:
        with self._lock:
            cached = self._cache.get(url)
        if cached and not refresh and time.monotonic() - cached[0] < METADATA_TTL_SECONDS:
            return cached[1]
        try:
            response = self._http.get(url)
            response.raise_for_status()
            body: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise self._unreachable() from exc
        with self._lock:
            self._cache[url] = (time.monotonic(), body)
        return body

    def metadata(self) -> dict[str, Any]:
        return self._get_json(f"{self.provider.issuer}/.well-known/openid-configuration")

    def authorization_url(self, *, state: str, nonce: str, code_challenge: str, redirect_uri: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.provider.client_id,
                "redirect_uri": redirect_uri,
                "scope": self.provider.scopes,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.metadata()['authorization_endpoint']}?{query}"

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> dict[str, Any]:
        try:
            response = self._http.post(
                self.metadata()["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "client_id": self.provider.client_id,
                    "client_secret": self.provider.client_secret,
                    "code_verifier": code_verifier,
                },
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise self._unreachable() from exc
        if response.status_code >= 400:
            # An invalid, expired or replayed code: the user starts sign-in again.
            raise Unauthenticated(
                f"{self.provider.name} refused the sign-in; please start again.", code="oauth_code_rejected"
            )
        tokens: dict[str, Any] = response.json()
        if "id_token" not in tokens:
            raise Unauthenticated("The provider returned no ID token.", code="oauth_invalid_response")
        return tokens

    def userinfo(self, access_token: str, subject: str) -> dict[str, Any]:
        """Claims the ID token left out (many providers put email only here); must name the same subject."""
        endpoint = self.metadata().get("userinfo_endpoint")
        if not endpoint:
            return {}
        try:
            response = self._http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
            response.raise_for_status()
            claims: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise self._unreachable() from exc
        if claims.get("sub") != subject:
            raise Unauthenticated("The provider's user info names another subject.", code="oauth_invalid_token")
        return claims

    def verify_id_token(self, id_token: str, *, nonce: str, access_token: str | None) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except JWTError as exc:
            raise Unauthenticated("The ID token is malformed.", code="oauth_invalid_token") from exc
        if header.get("alg") not in ID_TOKEN_ALGORITHMS:
            raise Unauthenticated("The ID token's algorithm is not allowed.", code="oauth_invalid_token")
        keys = self._get_json(self.metadata()["jwks_uri"])
        if header.get("kid") and not any(k.get("kid") == header["kid"] for k in keys.get("keys", [])):
            keys = self._get_json(self.metadata()["jwks_uri"], refresh=True)  # the provider rotated keys
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                keys,
                algorithms=ID_TOKEN_ALGORITHMS,
                audience=self.provider.client_id,
                access_token=access_token,
                options={"verify_iss": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except JWTError as exc:
            raise Unauthenticated("The ID token did not verify.", code="oauth_invalid_token") from exc
        # Microsoft's multi-tenant metadata names "{tenantid}"; the token carries the real tenant.
        expected_issuer = str(self.metadata()["issuer"]).replace("{tenantid}", str(claims.get("tid", "")))
        if claims.get("iss") != expected_issuer:
            raise Unauthenticated("The ID token comes from another issuer.", code="oauth_invalid_token")
        # Expiry by the platform clock (controllable in tests), with a minute of skew.
        if float(claims.get("exp", 0)) + 60 < utcnow().timestamp():
            raise Unauthenticated("The ID token has expired.", code="oauth_invalid_token")
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise Unauthenticated("The ID token's nonce does not match this sign-in.", code="oauth_invalid_token")
        if not claims.get("sub"):
            raise Unauthenticated("The ID token names no subject.", code="oauth_invalid_token")
        return claims
