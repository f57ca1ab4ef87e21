"""Authentication and authorisation dependencies: the caller's identity from the bearer token."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pynamodb.exceptions import DoesNotExist

from agents_meetings.audit import Actor
from agents_meetings.errors import Forbidden, Unauthenticated
from agents_meetings.identity.password_lifecycle import password_change_required
from agents_meetings.identity.tokens import TokenClaims, TokenService, issued_before
from agents_meetings.settings import get_settings
from agents_meetings.tables import UserModel
from agents_meetings.users.service import ensure_can_sign_in
from agents_meetings.users.sessions import SessionService

# What a user whose password must change (an admin's, every 90 days) may still call.
PASSWORD_CHANGE_EXEMPT = frozenset(
    {
        ("POST", "/api/v1/auth/change-password"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/users/me"),
    }
)

bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/login")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the user as stored now (role changes apply at once) and the token."""

    user: UserModel
    claims: TokenClaims
    actor: Actor


def client_ip(request: Request) -> str | None:
    event = request.scope.get("aws.event") or {}
    source = ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp")
    if source:
        return str(source)
    return request.client.host if request.client else None


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):  # authenticated already for this request (AdminRoute)
        return known
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("Send an access token: Authorization: Bearer <token>.", code="not_authenticated")
    claims = TokenService().decode(credentials.credentials, "access")
    try:
        user = UserModel.get(claims.subject)
    except DoesNotExist as exc:
        raise Unauthenticated("Token is not valid.", code="invalid_token") from exc
    ensure_can_sign_in(user)  # before the session: a deactivated account says so (its sessions ended)
    SessionService().touch(claims.session_id)  # ended, idle (30 min) or limited-out sessions stop here
    # A password reset ends every session: tokens issued before it are refused.
    if issued_before(claims, user.tokens_valid_after):
        raise Unauthenticated("Token has been revoked.", code="token_revoked")
    if (request.method, request.url.path) not in PASSWORD_CHANGE_EXEMPT and password_change_required(user):
        raise Forbidden(
            "Your password has expired; change it with POST /api/v1/auth/change-password.",
            code="password_change_required",
        )
    actor = Actor(
        user_id=user.id,
        role=user.role,
        source_ip=client_ip(request),
        request_id=getattr(request.state, "request_id", None),
    )
    principal = Principal(user=user, claims=claims, actor=actor)
    request.state.principal = principal
    return principal


async def admin_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.actor.is_admin:
        raise Forbidden("This action needs the admin role.", code="admin_required")
    if get_settings().admin_2fa_required:
        from agents_meetings.identity.two_factor import two_factor_enabled  # admin routes only

        if not two_factor_enabled(principal.user.id):
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
            await admin_principal(await current_principal(request, await bearer(request)))
            return await handler(request)

        return admin_first
