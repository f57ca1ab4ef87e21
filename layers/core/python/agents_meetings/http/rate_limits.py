"""The rate-limit middleware of every API app (spec 2.3): who is calling, which limit applies,
one decision, the X-RateLimit-* headers on every response and a 429 in the platform's error shape.

Plain ASGI, like RequestIdMiddleware. The caller's tier comes from the access token's ``role``
claim, verified here without any DynamoDB read (revocation is the route's business; a revoked
token still gets its tier's limit and then a 401).
"""

from __future__ import annotations

from typing import Any

from jose import JWTError, jwt
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agents_meetings.clock import utcnow
from agents_meetings.http.errors import ErrorBody, ErrorResponse
from agents_meetings.ratelimit.config import config_cache
from agents_meetings.ratelimit.rules import EXEMPT_PATHS, special_route, tier_for_role
from agents_meetings.ratelimit.service import Decision, decide_or_allow, refusal
from agents_meetings.settings import get_settings

CLOCK_SKEW_SECONDS = 10


def token_caller(authorization: str | None) -> tuple[str, str] | None:
    """(user id, role) of a valid access token, else None. Signature, issuer, audience, type and
    expiry are checked as TokenService checks them; the deny list is not read."""
    from agents_meetings.identity.tokens import ALLOWED_ALGORITHMS, MAX_TOKEN_CHARS, _signing_key

    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    settings = get_settings()
    try:
        if jwt.get_unverified_header(token).get("alg") not in ALLOWED_ALGORITHMS:
            return None
        claims: dict[str, Any] = jwt.decode(
            token,
            _signing_key(),
            algorithms=ALLOWED_ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
        if claims.get("typ") != "access" or not claims.get("sub"):
            return None
        if utcnow().timestamp() >= float(claims["exp"]) + CLOCK_SKEW_SECONDS:
            return None
    except (JWTError, KeyError, TypeError, ValueError, RuntimeError):
        return None
    return str(claims["sub"]), str(claims.get("role", ""))


def scope_client_ip(scope: Scope) -> str | None:
    event = scope.get("aws.event") or {}
    source = ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp")
    if source:
        return str(source)
    client = scope.get("client")
    return str(client[0]) if client else None


def limit_for(scope: Scope, headers: Headers) -> tuple[str, str]:
    """(limit name, caller key) for this request: a route's special limit, else the caller's tier."""
    ip = scope_client_ip(scope) or "unknown"
    caller = token_caller(headers.get("authorization"))
    special = special_route(scope["method"], scope["path"])
    if special is not None:
        by_user = special.scope == "user" and caller is not None
        return special.name, f"user:{caller[0]}" if by_user and caller else f"ip:{ip}"
    if caller is None:
        return tier_for_role(None), f"ip:{ip}"
    return tier_for_role(caller[1]), f"user:{caller[0]}"


def too_many_requests(decision: Decision, request_id: str | None) -> JSONResponse:
    message, details = refusal(decision)
    body = ErrorResponse(error=ErrorBody(code="rate_limited", message=message, details=details, request_id=request_id))
    return JSONResponse(body.model_dump(), status_code=429, headers=decision.headers())


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = get_settings()
        if (
            scope["type"] != "http"
            or not settings.rate_limit_enabled
            or scope["method"] == "OPTIONS"
            or scope["path"] in EXEMPT_PATHS
        ):
            await self.app(scope, receive, send)
            return
        if config_cache.get().is_allow_listed(scope_client_ip(scope)):
            await self.app(scope, receive, send)
            return
        name, caller = limit_for(scope, Headers(scope=scope))
        decision = decide_or_allow(caller, name, storage=settings.rate_limit_storage)
        if decision is None:  # never a 500 because of the limiter: fail open
            await self.app(scope, receive, send)
            return
        if not decision.allowed:
            request_id = (scope.get("state") or {}).get("request_id")
            await too_many_requests(decision, request_id)(scope, receive, send)
            return
        if decision.store_failed:
            await self.app(scope, receive, send)
            return
        extra = decision.headers()

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for header, value in extra.items():
                    headers[header] = value
            await send(message)

        await self.app(scope, receive, send_with_limits)
