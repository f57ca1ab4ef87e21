"""Request and response bodies of two-factor authentication (/api/v1/auth/2fa/*, the login challenge)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=16)]
ChallengeToken = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class TwoFactorChallengeOut(BaseModel):
    """Login answer for an account with 2FA: no tokens yet, finish with POST /api/v1/auth/2fa/login."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "two_factor_required": True,
                    "challenge_token": "eyJhbGciOi...",
                    "methods": ["totp", "backup_code", "sms"],
                    "expires_in": 300,
                }
            ]
        }
    )
    two_factor_required: Literal[True] = True
    challenge_token: str
    methods: list[str]
    expires_in: int


class TwoFactorEnrolmentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "secret": "JBSWY3DPEHPK3PXP",
                    "otpauth_uri": "otpauth://totp/Agents-Meetings:ada%40example.com?secret=JBSWY3DPEHPK3PXP"
                    "&issuer=Agents-Meetings",
                    "qr_svg": "data:image/svg+xml,...",
                }
            ]
        }
    )
    secret: str
    otpauth_uri: str
    qr_svg: str


class TwoFactorCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "123456"}]})
    code: Code


class BackupCodesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"enabled": True, "backup_codes": ["ABCDE-FGH23", "JKLMN-PQR45"]}]}
    )
    enabled: bool = True
    backup_codes: list[str]


class TwoFactorStatusOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"enabled": False}]})
    enabled: bool


class TwoFactorLoginIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"challenge_token": "eyJhbGciOi...", "method": "totp", "code": "123456"},
                {"challenge_token": "eyJhbGciOi...", "method": "backup_code", "code": "ABCDE-FGH23"},
            ]
        },
    )
    challenge_token: ChallengeToken
    method: Literal["totp", "backup_code", "sms"] = "totp"
    code: Code


class SmsSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"challenge_token": "eyJhbGciOi..."}]})
    challenge_token: ChallengeToken


class SmsSentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"sent": True, "expires_in": 600}]})
    sent: bool = True
    expires_in: int


class SmsEnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"phone": "+14155550123"}]})
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=16)]


class SmsConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "492031"}]})
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=6, pattern=r"^\d{6}$")]
