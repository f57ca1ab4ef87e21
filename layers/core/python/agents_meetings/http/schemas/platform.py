"""Bodies of /api/v1/admin/dashboard, /api/v1/admin/settings and /api/v1/presence."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from agents_meetings.http.schemas.common import LINE_CHECK, Strict, UtcDateTime

LanguageCode = Annotated[
    str, StringConstraints(min_length=2, max_length=8, pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$"), LINE_CHECK
]
Banner = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), LINE_CHECK]


class UsersStatsOut(BaseModel):
    by_role: dict[str, int]
    by_status: dict[str, int]
    inactive: int
    total: int


class MeetingsStatsOut(BaseModel):
    by_status: dict[str, int]
    active_now: int
    participants_now: int


class RecordingsStatsOut(BaseModel):
    count: int
    bytes: int


class NotificationsStatsOut(BaseModel):
    sent_24h: int = Field(description="Notifications created in the last 24 hours (hourly buckets)")


class DashboardStatsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "users": {
                        "by_role": {"admin": 2, "teacher": 14, "host": 9, "participant": 480},
                        "by_status": {"pending": 6, "approved": 495, "rejected": 4},
                        "inactive": 3,
                        "total": 505,
                    },
                    "meetings": {
                        "by_status": {"scheduled": 40, "active": 3, "ended": 812, "cancelled": 17},
                        "active_now": 3,
                        "participants_now": 57,
                    },
                    "recordings": {"count": 301, "bytes": 48213990122},
                    "notifications": {"sent_24h": 1290},
                    "generated_at": "2026-12-01T15:04:05Z",
                }
            ]
        }
    )
    users: UsersStatsOut
    meetings: MeetingsStatsOut
    recordings: RecordingsStatsOut
    notifications: NotificationsStatsOut
    generated_at: str = Field(description="When the figures were read (served from the cache up to 5 minutes)")


class PlatformSettingsIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "registration_open": False,
                    "default_meeting_languages": ["en", "es"],
                    "maintenance_banner": "Maintenance on Saturday 02:00-04:00 UTC",
                    "expected_version": 3,
                }
            ]
        },
    )
    registration_open: StrictBool
    default_meeting_languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=10)]
    maintenance_banner: Banner | None = None
    expected_version: int | None = Field(
        None, ge=0, strict=True, description="The version you read: refused with 409 if it changed meanwhile"
    )


class PlatformSettingsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "registration_open": False,
                    "default_meeting_languages": ["en", "es"],
                    "maintenance_banner": "Maintenance on Saturday 02:00-04:00 UTC",
                    "version": 4,
                    "updated_at": "2026-12-01T15:04:05Z",
                    "updated_by": "7d0b5a4e-0c1a-4a38-9b7e-2f7f3c1f8b10",
                }
            ]
        }
    )
    registration_open: bool
    default_meeting_languages: list[str]
    maintenance_banner: str | None
    version: int
    updated_at: UtcDateTime | None
    updated_by: str | None


class PresenceOut(BaseModel):
    user_id: str
    online: bool
    last_seen_at: UtcDateTime | None


class PresenceListOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "user_id": "7d0b5a4e-0c1a-4a38-9b7e-2f7f3c1f8b10",
                            "online": True,
                            "last_seen_at": "2026-12-01T15:04:05Z",
                        }
                    ]
                }
            ]
        }
    )
    items: list[PresenceOut] = Field(
        description="The ids you may see (you share a meeting; admins: all), in the order asked; others are left out"
    )
