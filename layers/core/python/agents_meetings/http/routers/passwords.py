"""/api/v1/auth: change-password and the emailed password reset (request, confirm)."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Request, status

from agents_meetings.audit import SYSTEM, Actor
from agents_meetings.http.dependencies import PasswordServiceDep
from agents_meetings.http.errors import error_responses
from agents_meetings.http.origin import client_ip
from agents_meetings.http.schemas.passwords import (
    ChangePasswordIn,
    PasswordResetConfirmIn,
    PasswordResetRequestedOut,
    PasswordResetRequestIn,
)
from agents_meetings.http.security import CurrentPrincipal
from agents_meetings.settings import get_settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

RESET_REQUESTED = "If an account exists for that email, a reset link is on its way."


def _anonymous_actor(request: Request) -> Actor:
    return Actor(SYSTEM.user_id, SYSTEM.role, client_ip(request), getattr(request.state, "request_id", None))


@router.post(
    "/change-password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 422),
    summary="Change your password (needs the current one); the way out of `password_change_required`",
)
async def change_password(body: ChangePasswordIn, principal: CurrentPrincipal, service: PasswordServiceDep) -> None:
    service.change_password(principal.user, body.current_password, body.new_password, actor=principal.actor)


@router.post(
    "/password-reset/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PasswordResetRequestedOut,
    responses=error_responses(422),
    summary="Email a single-use reset link (valid 1 hour); the same answer whether or not the account exists",
)
async def request_password_reset(
    body: PasswordResetRequestIn, service: PasswordServiceDep, request: Request
) -> PasswordResetRequestedOut:
    # The email is sent within the request (SES with retries: seconds, well inside the spec's minute).
    # Both outcomes take at least the same minimum time, so timing does not reveal the account.
    started = time.monotonic()
    service.request_reset(str(body.email), actor=_anonymous_actor(request))
    remaining = get_settings().password_reset_min_response_ms / 1000 - (time.monotonic() - started)
    if remaining > 0:
        await asyncio.sleep(remaining)
    return PasswordResetRequestedOut(message=RESET_REQUESTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 422),
    summary="Set a new password with the emailed token; every existing session of the account ends",
)
async def confirm_password_reset(body: PasswordResetConfirmIn, service: PasswordServiceDep, request: Request) -> None:
    service.confirm_reset(body.token, body.new_password, actor=_anonymous_actor(request))
