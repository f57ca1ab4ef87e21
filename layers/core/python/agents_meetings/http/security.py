"""Authentication and authorisation dependencies: the caller's identity from the bearer token,
checked once per request by ``AuthService`` and kept on the request for every later step."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.types import Scope

from agents_meetings.cache import cache_service, meeting_key, member_key, user_key
from agents_meetings.errors import DomainError, Forbidden, Unauthenticated
from agents_meetings.http.dependencies import AuthServiceDep, build_auth_service
from agents_meetings.http.origin import client_ip
from agents_meetings.identity.password_lifecycle import password_change_required
from agents_meetings.identity.service import AuthService, Principal
from agents_meetings.identity.tokens import TokenClaims
from agents_meetings.identity.two_factor import two_factor_enabled
from agents_meetings.observability import logger
from agents_meetings.presence.service import record_seen
from agents_meetings.settings import get_settings

__all__ = [
    "PASSWORD_CHANGE_EXEMPT",
    "AdminPrincipal",
    "AdminRoute",
    "CurrentPrincipal",
    "Principal",
    "admin_principal",
    "bearer",
    "current_principal",
    "token_claims",
]

# What a user whose password must change (an admin's, every 90 days) may still call.
PASSWORD_CHANGE_EXEMPT = frozenset(
    {
        ("POST", "/api/v1/auth/change-password"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/users/me"),
    }
)

# Path parameters whose resource a GET reads through the cache: prefetched in the authentication's
# pipeline, so a warm GET of a meeting is one shared-cache round trip, not two. A route that does not
# read it wastes two GETs inside a pipeline that goes anyway (a few bytes, no round trip).
PREFETCH_BY_PATH_PARAM: dict[str, Callable[[str], str]] = {"meeting_id": meeting_key, "user_id": user_key}

bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/login")

# Where a request keeps its token check (the ASGI scope's "state", i.e. ``request.state``).
_STATE_KEY = "authentication"


@dataclass
class _TokenCheck:
    """One request's access token, verified at most once: its claims, or the refusal."""

    token: str
    claims: TokenClaims | None = None
    error: DomainError | None = None


def _token_check(scope: Scope, token: str, service: AuthService) -> _TokenCheck:
    state = scope.setdefault("state", {})
    known = state.get(_STATE_KEY)
    if isinstance(known, _TokenCheck) and known.token == token:
        return known
    check = _TokenCheck(token)
    try:
        check.claims = service.verify_access_token(token)
    except DomainError as exc:
        check.error = exc
    state[_STATE_KEY] = check
    return check


def token_claims(scope: Scope) -> TokenClaims | None:
    """The claims of the request's bearer token when the token is valid on its own (no read: the
    deny list, the account and the session are the route's business), else None. The rate
    limiter's caller; the route's ``current_principal`` reuses the verification."""
    scheme, token = get_authorization_scheme_param(Headers(scope=scope).get("authorization"))
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return _token_check(scope, token, build_auth_service()).claims
    except RuntimeError:  # no signing key configured: the route that needs one answers so
        return None


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    auth: AuthServiceDep,
) -> Principal:
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):  # authenticated already for this request (AdminRoute)
        return known
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("Send an access token: Authorization: Bearer <token>.", code="not_authenticated")
    check = _token_check(request.scope, credentials.credentials, auth)
    if check.error is not None:
        raise check.error
    _prefetch_route_resource(request, check.claims)
    principal = auth.authenticate(
        check.token,
        verified=check.claims,
        source_ip=client_ip(request),
        request_id=getattr(request.state, "request_id", None),
    )
    if (request.method, request.url.path) not in PASSWORD_CHANGE_EXEMPT and password_change_required(principal.user):
        raise Forbidden(
            "Your password has expired; change it with POST /api/v1/auth/change-password.",
            code="password_change_required",
        )
    request.state.principal = principal
    _note_seen(principal.user.id)
    return principal


def _prefetch_route_resource(request: Request, claims: TokenClaims | None) -> None:
    """Hint the cache with the resource a GET names in its path (``PREFETCH_BY_PATH_PARAM``), and for
    a meeting the caller's membership of it (what a participant's read checks)."""
    if request.method not in ("GET", "HEAD"):
        return
    keys = [
        key_of(str(value))
        for name, value in request.path_params.items()
        if (key_of := PREFETCH_BY_PATH_PARAM.get(name)) is not None
    ]
    meeting_id = request.path_params.get("meeting_id")
    if meeting_id and claims is not None:
        keys.append(member_key(str(meeting_id), claims.subject))
    if keys:
        cache_service().prefetch(keys)


def _note_seen(user_id: str) -> None:
    """Presence: the caller was seen now (throttled to a write a minute); never fails the request."""
    try:
        record_seen(user_id)
    except Exception as exc:  # noqa: BLE001 - a presence write is not worth a failed request
        logger.warning("presence not recorded", extra={"error": type(exc).__name__})


async def admin_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.actor.is_admin:
        raise Forbidden("This action needs the admin role.", code="admin_required")
    if get_settings().admin_2fa_required and not two_factor_enabled(principal.user.id):
        raise Forbidden(
            "Admin accounts must turn on two-factor authentication first: POST /api/v1/auth/2fa/enable, "
            "then POST /api/v1/auth/2fa/verify with a code from the authenticator app.",
            code="two_factor_required",
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AdminPrincipal = Annotated[Principal, Depends(admin_principal)]


class AdminRoute(APIRoute):
    """The route class of every ``/api/v1/admin`` router: the caller is authenticated and must be an
    admin before anything else of the request (path, query, body) is read or validated, so a
    non-admin gets 401/403 whatever they send, never a 422 that describes the admin API.

    FastAPI validates a route's parameters and body before its dependencies' errors surface (and
    parses the JSON body before any dependency runs), hence a check in front of the whole handler.
    It goes through the one authentication path; the route's own ``AdminPrincipal`` dependency then
    reuses the principal found here (``request.state.principal``).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def admin_first(request: Request) -> Response:
            principal = await current_principal(request, await bearer(request), build_auth_service())
            await admin_principal(principal)
            return await handler(request)

        return admin_first
