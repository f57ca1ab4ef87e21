"""Authentication and authorisation dependencies: the caller's identity from the bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pynamodb.exceptions import DoesNotExist

from agents_meetings.audit import Actor
from agents_meetings.errors import Forbidden, Unauthenticated
from agents_meetings.identity.service import ensure_can_sign_in
from agents_meetings.identity.tokens import TokenClaims, TokenService
from agents_meetings.tables import UserModel

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
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("Send an access token: Authorization: Bearer <token>.", code="not_authenticated")
    claims = TokenService().decode(credentials.credentials, "access")
    try:
        user = UserModel.get(claims.subject)
    except DoesNotExist as exc:
        raise Unauthenticated("Token is not valid.", code="invalid_token") from exc
    ensure_can_sign_in(user)
    actor = Actor(
        user_id=user.id,
        role=user.role,
        source_ip=client_ip(request),
        request_id=getattr(request.state, "request_id", None),
    )
    return Principal(user=user, claims=claims, actor=actor)


async def admin_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.actor.is_admin:
        raise Forbidden("This action needs the admin role.", code="admin_required")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AdminPrincipal = Annotated[Principal, Depends(admin_principal)]
