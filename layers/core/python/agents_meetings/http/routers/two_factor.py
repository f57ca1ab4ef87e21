"""/api/v1/auth/2fa: TOTP enrolment, backup codes, SMS codes and the login's second step."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from agents_meetings.http.dependencies import TwoFactorServiceDep
from agents_meetings.http.errors import error_responses
from agents_meetings.http.origin import client_ip
from agents_meetings.http.schemas.auth import TokenOut
from agents_meetings.http.schemas.two_factor import (
    BackupCodesOut,
    SmsConfirmIn,
    SmsEnrolIn,
    SmsSendIn,
    SmsSentOut,
    TwoFactorCodeIn,
    TwoFactorEnrolmentOut,
    TwoFactorLoginIn,
    TwoFactorStatusOut,
)
from agents_meetings.http.security import CurrentPrincipal
from agents_meetings.http.sign_in import token_response
from agents_meetings.identity.two_factor import two_factor_enabled

# Served by the auth function (its prefix /api/v1/auth covers these paths).
router = APIRouter(prefix="/api/v1/auth/2fa", tags=["two-factor authentication"])


@router.get(
    "",
    response_model=TwoFactorStatusOut,
    responses=error_responses(401, 403),
    summary="Whether two-factor authentication is on for the caller",
)
async def two_factor_status(principal: CurrentPrincipal) -> TwoFactorStatusOut:
    return TwoFactorStatusOut(enabled=two_factor_enabled(principal.user.id))


@router.post(
    "/enable",
    response_model=TwoFactorEnrolmentOut,
    responses=error_responses(401, 403, 409),
    summary="Start enrolment: a TOTP secret, its otpauth:// URI and a QR code (SVG data URI)",
    description="2FA stays off until `POST /api/v1/auth/2fa/verify` receives a code from the authenticator app.",
)
async def enable(principal: CurrentPrincipal, service: TwoFactorServiceDep) -> TwoFactorEnrolmentOut:
    enrolment = service.begin_enrolment(principal.user, principal.actor)
    return TwoFactorEnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg)


@router.post(
    "/verify",
    response_model=BackupCodesOut,
    responses=error_responses(400, 401, 403, 409),
    summary="Turn 2FA on with a first authenticator code; returns ten backup codes, shown only this once",
)
async def verify(body: TwoFactorCodeIn, principal: CurrentPrincipal, service: TwoFactorServiceDep) -> BackupCodesOut:
    return BackupCodesOut(backup_codes=service.activate(principal.user, body.code, principal.actor))


@router.post(
    "/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 401, 403, 409),
    summary="Turn 2FA off with a current authenticator code or an unused backup code",
)
async def disable(body: TwoFactorCodeIn, principal: CurrentPrincipal, service: TwoFactorServiceDep) -> None:
    service.disable(principal.user, body.code, principal.actor)


@router.post(
    "/login",
    response_model=TokenOut,
    responses=error_responses(401, 403, 429),
    summary="Second login step: the challenge token and a TOTP, backup or SMS code give the token pair",
)
async def login(body: TwoFactorLoginIn, service: TwoFactorServiceDep, request: Request) -> TokenOut:
    user, pair = service.complete_login(body.challenge_token, body.code, body.method, actor_ip=client_ip(request))
    return token_response(user, pair)


@router.post(
    "/sms/enroll",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SmsSentOut,
    responses=error_responses(400, 401, 403, 409, 429),
    summary="Start enrolling a phone number (E.164): a 6-digit code is texted to it for /sms/confirm",
)
async def enroll_sms(body: SmsEnrolIn, principal: CurrentPrincipal, service: TwoFactorServiceDep) -> SmsSentOut:
    return SmsSentOut(expires_in=service.enroll_sms(principal.user, body.phone, principal.actor))


@router.post(
    "/sms/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 401, 403, 409),
    summary="Confirm the phone number with the texted code: it then receives SMS sign-in codes",
)
async def confirm_sms(body: SmsConfirmIn, principal: CurrentPrincipal, service: TwoFactorServiceDep) -> None:
    service.confirm_sms(principal.user, body.code, principal.actor)


@router.post(
    "/sms/send",
    response_model=SmsSentOut,
    responses=error_responses(401, 409, 429),
    summary="Text a 6-digit sign-in code (valid 10 minutes, single use; at most 3 per 10 minutes)",
)
async def send_sms(body: SmsSendIn, service: TwoFactorServiceDep) -> SmsSentOut:
    return SmsSentOut(expires_in=service.send_sms_code(body.challenge_token))
