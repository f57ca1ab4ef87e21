"""Bodies of /api/v1/meetings: meetings, invitations, joining, participants."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

from agents_meetings.http.schemas.common import (
    LINE_CHECK,
    BoundedDateTime,
    Identifier,
    ShortText,
    Strict,
    Tag,
    Title,
    UtcDateTime,
)
from agents_meetings.meetings.service import MeetingRole, MeetingStatus, MeetingType, ParticipantStatus

if TYPE_CHECKING:
    from agents_meetings.tables import MeetingModel, ParticipantModel


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
    languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=10)] | None = Field(
        None, description="Spoken languages; omitted: the platform's default_meeting_languages (admin settings)"
    )
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


class ActiveMeetingOut(MeetingOut):
    """A row of spec 2.2's active_meetings_view: the meeting and its participants joined now."""

    participant_count: int = Field(description="Participants in the room now (joined, not left)")


class ActiveMeetingsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": "3f1c2b7e-8d4a-4f0e-9b61-0c2d5e7a9f10",
                            "title": "Algebra 101",
                            "description": "First lesson",
                            "host_id": "7d0b5a4e-0c1a-4a38-9b7e-2f7f3c1f8b10",
                            "meeting_type": "classroom",
                            "status": "active",
                            "scheduled_at": "2026-12-01T15:00:00Z",
                            "started_at": "2026-12-01T15:01:12Z",
                            "ended_at": None,
                            "languages": ["en", "es"],
                            "tags": ["math"],
                            "room_name": "meeting-3f1c2b7e",
                            "auto_record": False,
                            "created_at": "2026-11-20T09:00:00Z",
                            "updated_at": "2026-12-01T15:01:12Z",
                            "participant_count": 12,
                        }
                    ],
                    "next_cursor": None,
                }
            ]
        }
    )
    items: list[ActiveMeetingOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")
