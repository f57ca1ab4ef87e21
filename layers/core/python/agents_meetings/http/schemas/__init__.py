"""Request and response bodies (pydantic) with examples, shared by the routers and OpenAPI: one
module per resource, the types every body shares in ``common``.

The shared types and the bodies of auth, passwords, users and meetings are importable from here too.
A body's class name is its OpenAPI component name: keep class names unique across the modules."""

from __future__ import annotations

from agents_meetings.http.schemas.auth import (
    LoginIn,
    LogoutIn,
    RefreshIn,
    RegisterIn,
    TokenOut,
)
from agents_meetings.http.schemas.common import (
    EARLIEST_DATETIME,
    LATEST_DATETIME,
    LINE_CHECK,
    TEXT_CHECK,
    BoundedDateTime,
    Identifier,
    Name,
    PageOut,
    Password,
    PlainLine,
    PlainText,
    ShortText,
    Strict,
    Tag,
    TimezoneName,
    Title,
    UtcDateTime,
)
from agents_meetings.http.schemas.meetings import (
    InviteIn,
    InviteOut,
    JoinIn,
    JoinOut,
    LanguageCode,
    MeetingIn,
    MeetingOut,
    MeetingPatch,
    ParticipantOut,
)
from agents_meetings.http.schemas.passwords import (
    ChangePasswordIn,
    NewPassword,
    PasswordResetConfirmIn,
    PasswordResetRequestedOut,
    PasswordResetRequestIn,
    ResetToken,
)
from agents_meetings.http.schemas.users import (
    AuditEntryOut,
    ProfileIn,
    RejectIn,
    RoleIn,
    StatisticsOut,
    UserOut,
)

__all__ = [
    "EARLIEST_DATETIME",
    "LATEST_DATETIME",
    "LINE_CHECK",
    "TEXT_CHECK",
    "AuditEntryOut",
    "BoundedDateTime",
    "ChangePasswordIn",
    "Identifier",
    "InviteIn",
    "InviteOut",
    "JoinIn",
    "JoinOut",
    "LanguageCode",
    "LoginIn",
    "LogoutIn",
    "MeetingIn",
    "MeetingOut",
    "MeetingPatch",
    "Name",
    "NewPassword",
    "PageOut",
    "ParticipantOut",
    "Password",
    "PasswordResetConfirmIn",
    "PasswordResetRequestIn",
    "PasswordResetRequestedOut",
    "PlainLine",
    "PlainText",
    "ProfileIn",
    "RefreshIn",
    "RegisterIn",
    "RejectIn",
    "ResetToken",
    "RoleIn",
    "ShortText",
    "StatisticsOut",
    "Strict",
    "Tag",
    "TimezoneName",
    "Title",
    "TokenOut",
    "UserOut",
    "UtcDateTime",
]
