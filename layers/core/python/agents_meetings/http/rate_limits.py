"""The rate-limit middleware of every API app (spec 2.3): who is calling, which limit applies,
one decision, the X-RateLimit-* headers on every response and a 429 in the platform's error shape.

Plain ASGI, like RequestIdMiddleware. The caller's tier comes from the access token's ``role``
claim, verified here without any DynamoDB read by the one token check of the request
(``security.token_claims``, which the route's ``current_principal`` then reuses; revocation is the
route's business: a revoked token still gets its tier's limit and then a 401).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agents_meetings.http.errors import ErrorBody, ErrorResponse
from agents_meetings.http.origin import client_ip
from agents_meetings.http.security import token_claims
from agents_meetings.ratelimit.config import config_cache
from agents_meetings.ratelimit.rules import EXEMPT_PATHS, special_route, tier_for_role
from agents_meetings.ratelimit.service import Decision, decide_or_allow, refusal
from agents_meetings.settings import get_settings


def limit_for(scope: Scope) -> tuple[str, str]:
    """(limit name, caller key) for this request: a route's special limit, else the caller's tier."""
    ip = client_ip(scope) or "unknown"
    claims = token_claims(scope)
    caller = (claims.subject, claims.role) if claims is not None else None
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
        if config_cache.get().is_allow_listed(client_ip(scope)):
            await self.app(scope, receive, send)
            return
        name, caller = limit_for(scope)
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
