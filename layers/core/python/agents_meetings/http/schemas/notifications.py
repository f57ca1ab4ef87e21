"""Bodies of /api/v1/notifications (inbox, preferences, tickets, unsubscribe) and /api/v1/admin/announcements."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)

from agents_meetings.http.schemas.common import (
    PlainLine,
    PlainText,
)


class NotificationOut(BaseModel):
    id: str
    type: str
    title: str
    message: str
    priority: Literal["low", "medium", "high", "urgent"]
    category: Literal["meeting", "user", "system", "announcement", "feedback"]
    data: dict[str, Any]
    is_read: bool
    created_at: str
    updated_at: str | None = None
    read_at: str | None = None
    expires_at: str | None = None
    group_key: str | None = None
    group_count: int = 1


class UnreadCountOut(BaseModel):
    unread_count: int


class ReadAllOut(BaseModel):
    marked_read: int
    unread_count: int


class Channels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    in_app: StrictBool | None = None
    email: StrictBool | None = None
    push: StrictBool | None = None


class PreferencesIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channels": {"email": True},
                    "categories": {"meeting": {"push": False}},
                    "types": {"participant_joined": {"in_app": False}},
                    "quiet_hours_start": "22:00",
                    "quiet_hours_end": "07:00",
                    "timezone": "Europe/Paris",
                    "group_similar_notifications": True,
                    "max_notifications_per_hour": 20,
                }
            ]
        },
    )
    channels: Channels | None = None
    categories: dict[PlainLine, Channels] | None = Field(None, max_length=10)
    types: dict[PlainLine, Channels] | None = Field(None, max_length=30)
    quiet_hours_start: PlainLine | None = Field(
        None, description="HH:MM in `timezone`; null with quiet_hours_end clears"
    )
    quiet_hours_end: PlainLine | None = None
    timezone: PlainLine | None = Field(None, max_length=64)
    group_similar_notifications: StrictBool | None = None
    max_notifications_per_hour: StrictInt | None = Field(None, description="null: no cap")


class PreferencesOut(BaseModel):
    channels: dict[str, bool | None]
    categories: dict[str, dict[str, bool | None]]
    types: dict[str, dict[str, bool | None]]
    quiet_hours_start: str | None
    quiet_hours_end: str | None
    timezone: str
    group_similar_notifications: bool
    max_notifications_per_hour: int | None


class TicketOut(BaseModel):
    ticket: str
    expires_in: int
    url: str | None = Field(None, description="WebSocket URL to open with ?ticket=<ticket>")


class UnsubscribeOut(BaseModel):
    unsubscribed: bool
    category: str


class AnnouncementIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"title": "New term", "message": "Classes resume on Monday.", "audience": "all"}]
        },
    )
    title: PlainLine = Field(min_length=1, max_length=200)
    message: PlainText = Field(min_length=1, max_length=2000)
    audience: Literal["all", "admin", "teacher", "host", "participant"] = "all"
    priority: Literal["low", "medium", "high", "urgent"] = "medium"


class AnnouncementOut(BaseModel):
    announcement_id: str
    audience: str
    status: Literal["accepted"] = "accepted"
