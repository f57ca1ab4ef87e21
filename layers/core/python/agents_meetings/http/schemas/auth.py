"""Bodies of registration, password login, token refresh and logout (/api/v1/auth)."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)

from agents_meetings.http.schemas.common import (
    Name,
    Password,
    Strict,
    TimezoneName,
)


class RegisterIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"email": "ada@example.com", "password": "Correct-Horse-Battery-7", "full_name": "Ada Lovelace"}
            ]
        },
    )
    email: EmailStr
    password: Password
    full_name: Name
    timezone: TimezoneName = "UTC"


class LoginIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ada@example.com", "password": "Correct-Horse-Battery-7"}]},
    )
    email: EmailStr
    password: Password


class RefreshIn(Strict):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class LogoutIn(Strict):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None


class TokenOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOi...",
                    "refresh_token": "eyJhbGciOi...",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "password_change_required": False,
                }
            ]
        }
    )
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    password_change_required: bool = Field(
        False,
        description="True when the password has expired (admins: every 90 days). Until it is changed with "
        "POST /api/v1/auth/change-password, other endpoints answer 403 `password_change_required`.",
    )
