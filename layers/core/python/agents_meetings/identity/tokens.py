"""JWT access and refresh tokens (python-jose, HS256) and the server-side deny list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from jose import JWTError, jwt
from pynamodb.exceptions import DoesNotExist, PutError

from agents_meetings.clock import utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.errors import Unauthenticated
from agents_meetings.secret_values import resolve_secret
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import RevokedTokenModel
from agents_meetings.users.sessions import SessionService

ALGORITHM = "HS256"
ALLOWED_ALGORITHMS = [ALGORITHM]
CLOCK_SKEW_SECONDS = 10  # never "none", never a public-key algorithm with an HMAC secret
# Ours are well under 2 KB; anything far longer is refused before it is parsed.
MAX_TOKEN_CHARS = 8192
# "2fa_challenge": proof of the password step of a login that still needs its second factor.
TokenType = Literal["access", "refresh", "2fa_challenge"]
CHALLENGE_TOKEN_TTL_SECONDS = 300


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    role: str
    token_type: TokenType
    jti: str
    expires_at: int
    session_id: str
    # Fractional seconds: a password reset refuses every token issued before it (tokens_valid_after).
    issued_at: float = 0.0


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@lru_cache(maxsize=1)
def _signing_key() -> str:
    settings = get_settings()
    key = resolve_secret(settings.jwt_secret, settings.jwt_secret_arn)
    if key is not None:
        return key
    raise RuntimeError("No JWT signing key: set JWT_SECRET (local) or JWT_SECRET_ARN (cloud)")


def reset_signing_key() -> None:
    _signing_key.cache_clear()


class TokenService:
    def __init__(self, settings: Settings | None = None):
        self._settings = settings or get_settings()

    def _encode(self, subject: str, role: str, token_type: TokenType, ttl: int, session_id: str) -> tuple[str, str]:
        issued = utcnow().timestamp()
        now = int(issued)
        jti = str(uuid.uuid4())
        claims = {
            "sub": subject,
            "role": role,
            "typ": token_type,
            "jti": jti,
            "sid": session_id,
            "iat": now,
            # Milliseconds: tokens_valid_after (a password reset) must separate tokens within a second.
            "iat_ms": int(issued * 1000),
            "nbf": now,
            "exp": now + ttl,
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
        }
        return jwt.encode(claims, _signing_key(), algorithm=ALGORITHM), jti

    def issue_pair(
        self, subject: str, role: str, session_id: str | None = None, *, rotated_from: str | None = None
    ) -> TokenPair:
        """A new session's first pair (no ``session_id``), or the next pair of a session whose
        refresh token ``rotated_from`` was just presented (it must be the session's current one)."""
        new_session = session_id is None
        session_id = session_id or str(uuid.uuid4())
        access, _ = self._encode(subject, role, "access", self._settings.access_token_ttl_seconds, session_id)
        refresh, refresh_jti = self._encode(
            subject, role, "refresh", self._settings.refresh_token_ttl_seconds, session_id
        )
        refresh_expires_at = int(utcnow().timestamp()) + self._settings.refresh_token_ttl_seconds
        if new_session:
            SessionService(self._settings).start(session_id, subject, refresh_jti, refresh_expires_at)
        elif rotated_from is not None:
            SessionService(self._settings).rotate(session_id, rotated_from, refresh_jti)
        return TokenPair(access, refresh, self._settings.access_token_ttl_seconds)

    def issue_challenge(self, subject: str, role: str) -> str:
        """A short-lived, single-use (its jti is revoked when used) token for the 2FA login step."""
        token, _ = self._encode(subject, role, "2fa_challenge", CHALLENGE_TOKEN_TTL_SECONDS, str(uuid.uuid4()))
        return token

    def decode(self, token: str, expected_type: TokenType, *, check_revoked: bool = True) -> TokenClaims:
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated(f"Token is over {MAX_TOKEN_CHARS} characters.", code="token_too_large")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ALLOWED_ALGORITHMS:
                raise Unauthenticated("Token algorithm is not allowed.", code="invalid_token")
            # Signature, audience and issuer by python-jose; times against the platform clock below,
            # so that expiry follows agents_meetings.clock (controllable in tests) like everything else.
            claims: dict[str, Any] = jwt.decode(
                token,
                _signing_key(),
                algorithms=ALLOWED_ALGORITHMS,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                # python-jose's require_exp also checks exp by the system clock: presence is checked below.
                options={
                    "require_jti": True,
                    "require_sub": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except JWTError as exc:
            raise Unauthenticated("Token is not valid.", code="invalid_token") from exc
        now = utcnow().timestamp()
        try:
            expires_at, not_before = float(claims["exp"]), float(claims.get("nbf", 0))
        except (KeyError, TypeError, ValueError) as exc:
            raise Unauthenticated("Token is not valid.", code="invalid_token") from exc
        if now >= expires_at + CLOCK_SKEW_SECONDS:
            raise Unauthenticated("Token has expired.", code="invalid_token")
        if now + CLOCK_SKEW_SECONDS < not_before:
            raise Unauthenticated("Token is not valid yet.", code="invalid_token")
        if claims.get("typ") != expected_type:
            article = "An" if expected_type == "access" else "A"
            raise Unauthenticated(f"{article} {expected_type} token is required.", code="invalid_token")
        token_claims = TokenClaims(
            subject=str(claims["sub"]),
            role=str(claims.get("role", "")),
            token_type=expected_type,
            jti=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            session_id=str(claims.get("sid", "")),
            issued_at=_numeric(claims.get("iat_ms")) / 1000 or _numeric(claims.get("iat")),
        )
        if check_revoked and is_revoked(token_claims.jti):
            raise Unauthenticated("Token has been revoked.", code="token_revoked")
        return token_claims


def _numeric(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def issued_before(claims: TokenClaims, instant: datetime | None) -> bool:
    """True when the token was issued before ``instant`` (a user's ``tokens_valid_after``)."""
    return instant is not None and claims.issued_at < instant.timestamp()


def revocation_reason(jti: str) -> str | None:
    """Why the token id is on the deny list ("rotated", "logout", ...), or None if it is not."""
    try:
        item = RevokedTokenModel.get(jti, consistent_read=True)
    except DoesNotExist:
        return None
    if item.expires_at is not None and item.expires_at <= utcnow():
        return None
    return str(item.reason)


def is_revoked(jti: str) -> bool:
    try:
        item = RevokedTokenModel.get(jti, consistent_read=True)
    except DoesNotExist:
        return False
    # moto (and DynamoDB for up to days) keep expired items: an expired entry no longer matters.
    return item.expires_at is None or item.expires_at > utcnow()


def revoke(claims: TokenClaims, reason: str, *, only_if_unused: bool = False) -> bool:
    """Put the token id on the deny list until shortly after it expires anyway.

    With ``only_if_unused`` the write is conditional on the id not being listed yet; returns False
    when it already was (the token was used or revoked meanwhile).
    """
    expires = datetime.fromtimestamp(claims.expires_at, tz=UTC) + timedelta(minutes=5)
    entry = RevokedTokenModel(jti=claims.jti, user_id=claims.subject, reason=reason, expires_at=expires)
    if not only_if_unused:
        entry.save()
        return True
    try:
        entry.save(condition=RevokedTokenModel.jti.does_not_exist())
    except PutError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True
