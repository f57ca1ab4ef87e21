"""Bodies of changing and resetting a password (/api/v1/auth/change-password, /password-reset)."""

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
    Password,
    Strict,
)

NewPassword = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    Field(
        description="At least 12 characters with upper- and lower-case letters, a digit and a symbol; "
        "not a commonly used password"
    ),
]


ResetToken = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class ChangePasswordIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"current_password": "Old-Secret-2026!", "new_password": "N3w-Secret-2027!"}]},
    )
    current_password: Password
    new_password: NewPassword


class PasswordResetRequestIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"email": "ada@example.com"}]})
    email: EmailStr


class PasswordResetRequestedOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"message": "If an account exists for that email, a reset link is on its way."}]
        }
    )
    message: str


class PasswordResetConfirmIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"token": "q3N0...from-the-email", "new_password": "N3w-Secret-2027!"}]},
    )
    token: ResetToken
    new_password: NewPassword
