"""Request and response bodies (pydantic) with examples, shared by the routers and OpenAPI."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    StrictBool,
    StringConstraints,
)

from agents_meetings.clock import isoformat_z
from agents_meetings.meetings.service import MeetingRole, MeetingStatus, MeetingType, ParticipantStatus
from agents_meetings.tables import MeetingModel, ParticipantModel, UserModel
from agents_meetings.users.service import AccountStatus, Role

# --- instants ------------------------------------------------------------------------------

# Dates a client may send, in bodies and query strings alike. Far outside any meeting's life and
# inside every engine's range (DynamoDB strings, OpenSearch, tantivy's 1677-2262).
EARLIEST_DATETIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_DATETIME = datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_DATETIME_EXAMPLE = "e.g. 2026-12-01T15:00:00Z"


def _iso_8601_text(value: Any) -> Any:
    # pydantic would also read numbers (and numeric text, as in ?to=0.5) as Unix timestamps.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATETIME.match(value):
        raise ValueError(f"must be an ISO-8601 date and time with a timezone, {_DATETIME_EXAMPLE}")
    return value


def _bounded_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"include a timezone, {_DATETIME_EXAMPLE}")
    if not EARLIEST_DATETIME <= value <= LATEST_DATETIME:
        raise ValueError(f"must be between {isoformat_z(EARLIEST_DATETIME)} and {isoformat_z(LATEST_DATETIME)}")
    return value


UtcDateTime = Annotated[datetime, PlainSerializer(lambda v: isoformat_z(v), return_type=str)]
BoundedDateTime = Annotated[datetime, BeforeValidator(_iso_8601_text), AfterValidator(_bounded_utc)]
"""An instant from a client (bodies and query parameters): ISO-8601 text with a timezone, years
1970-2100. Anything else is a 422 in the error shape, never a 500 further down."""

# --- text ----------------------------------------------------------------------------------

# Control characters (Unicode Cc: U+0000-U+001F, U+007F-U+009F) and the bidirectional embedding,
# override and isolate characters, which make text display other than it reads ("Trojan Source").
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_FORBIDDEN_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")
_FORBIDDEN_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")  # \t \n \r allowed


def _refuse(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found is not None:
            char = found.group()
            kind = "bidirectional control" if "\u202a" <= char <= "\u2069" else "control"
            raise ValueError(f"must not contain {kind} characters (found U+{ord(char):04X}); {what}")
        return value

    return AfterValidator(check)


LINE_CHECK = _refuse(_FORBIDDEN_IN_LINE, "plain text on one line")
TEXT_CHECK = _refuse(_FORBIDDEN_IN_TEXT, "plain text (tabs and line breaks are fine)")
PlainLine = Annotated[str, LINE_CHECK]
"""User-visible text on one line (names, titles, tags, ...): no control or bidi-override characters."""
PlainText = Annotated[str, TEXT_CHECK]
"""User-visible text that may span lines (descriptions, messages): tabs and line breaks allowed."""

# The check goes after the constraints: pydantic strips and measures first.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), LINE_CHECK]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), LINE_CHECK]
ShortText = Annotated[str, StringConstraints(max_length=5000), TEXT_CHECK]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), LINE_CHECK]
TimezoneName = Annotated[str, StringConstraints(min_length=1, max_length=64), LINE_CHECK]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


# --- auth --------------------------------------------------------------------------------


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


# --- passwords ---------------------------------------------------------------------------

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


# --- users -------------------------------------------------------------------------------


class UserOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "7d0b5a4e-0c1a-4a38-9b7e-2f7f3c1f8b10",
                    "email": "ada@example.com",
                    "full_name": "Ada Lovelace",
                    "role": "participant",
                    "status": "approved",
                    "is_active": True,
                    "timezone": "Europe/London",
                    "bio": None,
                    "expertise": [],
                    "created_at": "2026-11-24T10:00:00Z",
                    "updated_at": "2026-11-24T10:00:00Z",
                }
            ]
        }
    )
    id: str
    email: str
    full_name: str
    role: Role
    status: AccountStatus
    is_active: bool
    timezone: str
    bio: str | None
    expertise: list[str]
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def of(cls, user: UserModel) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=Role(user.role),
            status=AccountStatus(user.status),
            is_active=bool(user.is_active),
            timezone=user.timezone,
            bio=user.bio,
            expertise=list(user.expertise or []),
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class ProfileIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "full_name": "Ada King",
                    "timezone": "Europe/London",
                    "bio": "Mathematician",
                    "expertise": ["analysis"],
                }
            ]
        },
    )
    full_name: Name | None = None
    timezone: TimezoneName | None = None
    bio: ShortText | None = None
    expertise: Annotated[list[Tag], Field(max_length=30)] | None = None


class RoleIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "teacher"}]})
    role: Role


class RejectIn(Strict):
    reason: Annotated[str, StringConstraints(max_length=1000), TEXT_CHECK] | None = None


class StatisticsOut(BaseModel):
    user_id: str
    meetings_hosted: int
    meetings_attended: int
    attended_seconds: int


class AuditEntryOut(BaseModel):
    id: str
    timestamp: UtcDateTime
    actor_id: str
    action: str
    target_type: str
    target_id: str
    source_ip: str | None
    request_id: str | None
    details: dict[str, Any] | None


# --- meetings ----------------------------------------------------------------------------

LanguageCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=8), LINE_CHECK]


class MeetingIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Algebra 101",
                    "description": "First lesson",
                    "meeting_type": "classroom",
                    "scheduled_at": "2026-12-01T15:00:00Z",
                    "languages": ["en", "es"],
                    "tags": ["math"],
                    "auto_record": True,
                }
            ]
        },
    )
    title: Title
    description: ShortText | None = None
    meeting_type: MeetingType = MeetingType.REGULAR
    scheduled_at: BoundedDateTime
    languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=10)] = Field(default_factory=lambda: ["en"])
    tags: Annotated[list[Tag], Field(max_length=20)] = Field(default_factory=list)
    auto_record: StrictBool = False


class MeetingPatch(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"title": "Algebra 101 (moved)", "scheduled_at": "2026-12-02T15:00:00Z"}]},
    )
    title: Title | None = None
    description: ShortText | None = None
    scheduled_at: BoundedDateTime | None = None
    languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=10)] | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] | None = None
    auto_record: StrictBool | None = None


class MeetingOut(BaseModel):
    id: str
    title: str
    description: str | None
    host_id: str
    meeting_type: MeetingType
    status: MeetingStatus
    scheduled_at: UtcDateTime
    started_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    languages: list[str]
    tags: list[str]
    room_name: str
    auto_record: bool
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def of(cls, m: MeetingModel) -> MeetingOut:
        return cls(
            id=m.id,
            title=m.title,
            description=m.description,
            host_id=m.host_id,
            meeting_type=MeetingType(m.meeting_type),
            status=MeetingStatus(m.status),
            scheduled_at=m.scheduled_at,
            started_at=m.started_at,
            ended_at=m.ended_at,
            languages=list(m.languages or []),
            tags=list(m.tags or []),
            room_name=m.room_name,
            auto_record=bool(m.auto_record),
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


class InviteIn(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"user_ids": ["7d0b5a4e-0c1a-4a38-9b7e-2f7f3c1f8b10"]}]}
    )
    user_ids: Annotated[list[Identifier], Field(min_length=1, max_length=100)]


class InviteOut(BaseModel):
    invited: list[str]
    already_invited: list[str]


class JoinIn(Strict):
    language: LanguageCode | None = Field(None, description="Spoken language to join in; one of the meeting's")


class ParticipantOut(BaseModel):
    meeting_id: str
    user_id: str
    status: ParticipantStatus
    role: MeetingRole
    language: str | None
    invited_at: UtcDateTime
    joined_at: UtcDateTime | None
    left_at: UtcDateTime | None

    @classmethod
    def of(cls, p: ParticipantModel) -> ParticipantOut:
        return cls(
            meeting_id=p.meeting_id,
            user_id=p.user_id,
            status=ParticipantStatus(p.status),
            role=MeetingRole(p.role),
            language=p.language,
            invited_at=p.invited_at,
            joined_at=p.joined_at,
            left_at=p.left_at,
        )


class JoinOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": "eyJhbGciOi...",
                    "livekit_url": "wss://livekit.example.com",
                    "room_name": "meeting-7d0b...",
                    "identity": "7d0b5a4e-...",
                    "expires_in": 21600,
                    "participant": {},
                }
            ]
        }
    )
    token: str = Field(description="LiveKit access token for the meeting's room")
    livekit_url: str
    room_name: str
    identity: str
    expires_in: int
    participant: ParticipantOut
