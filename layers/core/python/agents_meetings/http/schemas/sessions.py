"""Bodies of /api/v1/auth/sessions."""

from __future__ import annotations

from pydantic import (
    BaseModel,
)

from agents_meetings.http.schemas.common import (
    UtcDateTime,
)


class SessionOut(BaseModel):
    id: str
    device: str | None
    ip: str | None
    created_at: UtcDateTime
    last_seen_at: UtcDateTime
    current: bool


class EndedOut(BaseModel):
    ended: int
