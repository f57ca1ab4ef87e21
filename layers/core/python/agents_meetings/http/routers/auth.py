"""/api/v1/auth: register, login, refresh, logout."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from agents_meetings.audit import SYSTEM, Actor
from agents_meetings.http.dependencies import AuthServiceDep
from agents_meetings.http.errors import error_responses
from agents_meetings.http.origin import client_ip
from agents_meetings.http.schemas.auth import LoginIn, LogoutIn, RefreshIn, RegisterIn, TokenOut
from agents_meetings.http.schemas.two_factor import TwoFactorChallengeOut
from agents_meetings.http.schemas.users import UserOut
from agents_meetings.http.security import CurrentPrincipal
from agents_meetings.http.sign_in import sign_in_response
from agents_meetings.identity.service import NewAccount
from agents_meetings.users.service import validate_timezone

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=error_responses(403, 409, 422),
    summary="Create an account (pending until an admin approves it; 403 registration_closed when closed)",
)
async def register(body: RegisterIn, service: AuthServiceDep, request: Request) -> UserOut:
    validate_timezone(body.timezone)
    actor = Actor(SYSTEM.user_id, SYSTEM.role, client_ip(request), getattr(request.state, "request_id", None))
    user = service.register(NewAccount(str(body.email), body.password, body.full_name, body.timezone), actor=actor)
    return UserOut.of(user)


@router.post(
    "/login",
    response_model=TokenOut | TwoFactorChallengeOut,
    responses=error_responses(401, 403, 422),
    summary="Exchange email and password for access and refresh tokens",
    description="With two-factor authentication on, the answer is a `TwoFactorChallengeOut` instead: "
    "finish with `POST /api/v1/auth/2fa/login` within 5 minutes.",
)
async def login(body: LoginIn, service: AuthServiceDep, request: Request) -> TokenOut | TwoFactorChallengeOut:
    return sign_in_response(lambda: service.login(str(body.email), body.password, actor_ip=client_ip(request)))


@router.post(
    "/refresh",
    response_model=TokenOut,
    responses=error_responses(401, 403, 422),
    summary="Exchange a refresh token (single use) for a new token pair",
)
async def refresh(body: RefreshIn, service: AuthServiceDep) -> TokenOut:
    pair = service.refresh(body.refresh_token)
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403),
    summary="Revoke the access token (and the refresh token, when given)",
)
async def logout(principal: CurrentPrincipal, service: AuthServiceDep, body: LogoutIn | None = None) -> None:
    service.logout(principal.claims, body.refresh_token if body else None, actor=principal.actor)
