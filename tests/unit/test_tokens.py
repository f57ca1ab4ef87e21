"""JWT access and refresh tokens: what is accepted and everything that must be refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agents_meetings import clock
from agents_meetings.errors import Unauthenticated
from agents_meetings.identity import tokens
from agents_meetings.identity.tokens import TokenService
from agents_meetings.settings import Settings, get_settings, reset_settings
from agents_meetings.users import sessions
from jose import jwt

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _no_deny_list(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The deny list lives in DynamoDB; unit tests answer it from memory."""
    reset_settings()
    tokens.reset_signing_key()
    revoked: list[str] = []
    monkeypatch.setattr(tokens, "is_revoked", lambda jti: jti in revoked)
    # Session records live in DynamoDB too; the codec is what these tests pin.
    started: list[tuple[str, str]] = []
    monkeypatch.setattr(sessions.SessionService, "start", lambda self, sid, user, jti, exp: started.append((sid, jti)))
    monkeypatch.setattr(sessions.SessionService, "rotate", lambda self, sid, old, new: None)
    yield revoked
    tokens.reset_signing_key()
    reset_settings()


@pytest.fixture
def service() -> TokenService:
    return TokenService()


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.get_unverified_claims(token))


def _valid_claims(**overrides: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    settings = get_settings()
    claims = {
        "sub": "user-1",
        "role": "participant",
        "typ": "access",
        "jti": "jti-1",
        "sid": "sid-1",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    claims.update(overrides)
    return claims


def _secret() -> str:
    secret = get_settings().jwt_secret
    assert secret is not None
    return secret.get_secret_value()


def _rejected(service: TokenService, token: str, expected_type: tokens.TokenType = "access") -> Unauthenticated:
    with pytest.raises(Unauthenticated) as raised:
        service.decode(token, expected_type)
    assert raised.value.status_code == 401
    return raised.value


def test_an_issued_pair_decodes_to_its_subject_role_and_type(service: TokenService) -> None:
    pair = service.issue_pair("user-1", "teacher")
    access = service.decode(pair.access_token, "access")
    refresh = service.decode(pair.refresh_token, "refresh")
    assert (access.subject, access.role, access.token_type) == ("user-1", "teacher", "access")
    assert (refresh.subject, refresh.role, refresh.token_type) == ("user-1", "teacher", "refresh")
    assert access.session_id == refresh.session_id, "both tokens belong to one session"
    assert access.jti != refresh.jti
    assert pair.expires_in == get_settings().access_token_ttl_seconds


def test_tokens_carry_issuer_audience_and_lifetimes(service: TokenService) -> None:
    settings = get_settings()
    pair = service.issue_pair("user-1", "admin")
    access, refresh = _claims(pair.access_token), _claims(pair.refresh_token)
    assert access["iss"] == settings.jwt_issuer and access["aud"] == settings.jwt_audience
    assert access["exp"] - access["iat"] == settings.access_token_ttl_seconds
    assert refresh["exp"] - refresh["iat"] == settings.refresh_token_ttl_seconds
    assert jwt.get_unverified_header(pair.access_token)["alg"] == "HS256"


def test_a_refresh_keeps_the_session_id_it_is_given(service: TokenService) -> None:
    pair = service.issue_pair("user-1", "host", session_id="session-42")
    assert service.decode(pair.access_token, "access").session_id == "session-42"


def test_an_expired_token_is_rejected(service: TokenService) -> None:
    ttl = get_settings().access_token_ttl_seconds
    clock.set_clock(lambda: datetime.now(UTC) - timedelta(seconds=ttl + 600))
    pair = service.issue_pair("user-1", "participant")
    clock.set_clock(None)
    error = _rejected(service, pair.access_token)
    assert error.code == "invalid_token"
    assert "expired" in error.message.lower()


def test_a_token_expires_by_the_platform_clock(service: TokenService) -> None:
    pair = service.issue_pair("user-1", "participant")
    later = datetime.now(UTC) + timedelta(seconds=get_settings().access_token_ttl_seconds + 600)
    clock.set_clock(lambda: later)
    error = _rejected(service, pair.access_token)
    assert "expired" in error.message.lower()


def test_a_token_for_another_audience_is_rejected(service: TokenService) -> None:
    token = jwt.encode(_valid_claims(aud="some-other-api"), _secret(), algorithm="HS256")
    assert _rejected(service, token).code == "invalid_token"


def test_a_token_from_another_issuer_is_rejected(service: TokenService) -> None:
    token = jwt.encode(_valid_claims(iss="someone-else"), _secret(), algorithm="HS256")
    assert _rejected(service, token).code == "invalid_token"


def test_a_token_signed_with_another_secret_is_rejected(service: TokenService) -> None:
    token = jwt.encode(_valid_claims(), "another-secret-of-the-same-length-0123456789ab", algorithm="HS256")
    assert _rejected(service, token).code == "invalid_token"


def test_the_service_accepts_a_hand_made_token_with_every_claim(service: TokenService) -> None:
    """Control for the rejections around it: only the one thing each of them changes is wrong."""
    token = jwt.encode(_valid_claims(), _secret(), algorithm="HS256")
    assert service.decode(token, "access").subject == "user-1"


def _unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_an_unsigned_alg_none_token_is_rejected(service: TokenService, alg: str) -> None:
    assert _rejected(service, _unsigned(_valid_claims(), alg)).code == "invalid_token"


def test_a_token_with_another_hmac_algorithm_is_rejected(service: TokenService) -> None:
    token = jwt.encode(_valid_claims(), _secret(), algorithm="HS512")
    error = _rejected(service, token)
    assert error.code == "invalid_token" and "algorithm" in error.message.lower()


def test_a_tampered_payload_is_rejected(service: TokenService) -> None:
    pair = service.issue_pair("user-1", "participant")
    header, _, signature = pair.access_token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps(_valid_claims(role="admin")).encode()).decode().rstrip("=")
    assert _rejected(service, f"{header}.{forged}.{signature}").code == "invalid_token"


@pytest.mark.parametrize("missing", ["exp", "jti", "sub"])
def test_a_token_without_a_required_claim_is_rejected(service: TokenService, missing: str) -> None:
    claims = _valid_claims()
    del claims[missing]
    assert _rejected(service, jwt.encode(claims, _secret(), algorithm="HS256")).code == "invalid_token"


def test_a_token_not_yet_valid_is_rejected(service: TokenService) -> None:
    later = int(datetime.now(UTC).timestamp()) + 3600
    token = jwt.encode(_valid_claims(nbf=later, iat=later, exp=later + 600), _secret(), algorithm="HS256")
    assert _rejected(service, token).code == "invalid_token"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x", "e30.e30.e30"])
def test_garbage_is_rejected_as_an_invalid_token(service: TokenService, garbage: str) -> None:
    assert _rejected(service, garbage).code == "invalid_token"


def test_a_refresh_token_cannot_be_used_as_an_access_token(service: TokenService) -> None:
    pair = service.issue_pair("user-1", "participant")
    assert _rejected(service, pair.refresh_token, "access").code == "invalid_token"


def test_an_access_token_cannot_be_used_as_a_refresh_token(service: TokenService) -> None:
    pair = service.issue_pair("user-1", "participant")
    assert _rejected(service, pair.access_token, "refresh").code == "invalid_token"


def test_the_wrong_token_type_message_is_grammatical(service: TokenService) -> None:
    pair = service.issue_pair("user-1", "participant")
    assert _rejected(service, pair.access_token, "refresh").message == "A refresh token is required."
    assert _rejected(service, pair.refresh_token, "access").message == "An access token is required."


def test_a_token_issued_by_a_clock_in_the_future_is_not_valid_yet(service: TokenService) -> None:
    clock.set_clock(lambda: datetime.now(UTC) + timedelta(hours=1))
    pair = service.issue_pair("user-1", "participant")
    clock.set_clock(None)
    assert _rejected(service, pair.access_token).code == "invalid_token"


def test_a_revoked_token_is_rejected_as_revoked(service: TokenService, _no_deny_list: list[str]) -> None:
    pair = service.issue_pair("user-1", "participant")
    _no_deny_list.append(service.decode(pair.access_token, "access").jti)
    assert _rejected(service, pair.access_token).code == "token_revoked"
    assert service.decode(pair.refresh_token, "refresh").subject == "user-1"


def test_a_service_with_another_audience_refuses_our_tokens() -> None:
    ours = TokenService().issue_pair("user-1", "participant")
    theirs = TokenService(Settings(JWT_AUDIENCE="another-api"))
    assert _rejected(theirs, ours.access_token).code == "invalid_token"


def test_without_a_signing_key_tokens_cannot_be_issued(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SECRET")
    reset_settings()
    tokens.reset_signing_key()
    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        TokenService().issue_pair("user-1", "participant")
