"""Bodies of /api/v1/admin/maintenance and /api/v1/admin/features."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
)

from agents_meetings.http.schemas.common import (
    TEXT_CHECK,
    BoundedDateTime,
    Strict,
    Title,
)

Audience = Literal["all", "admin", "teacher", "host", "participant"]


class MaintenanceIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "starts_at": "2026-12-05T22:00:00Z",
                    "ends_at": "2026-12-05T23:30:00Z",
                    "message": "Database upgrade: meetings cannot be joined meanwhile.",
                }
            ]
        },
    )
    starts_at: BoundedDateTime
    ends_at: BoundedDateTime
    message: Annotated[str, Field(min_length=1, max_length=2000), TEXT_CHECK]
    audience: Audience = "all"


class MaintenanceOut(BaseModel):
    maintenance_id: str
    audience: str
    status: Literal["accepted"] = "accepted"


class FeatureIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Live captions",
                    "description": "Turn on captions in any meeting.",
                    "url": "https://example.com/captions",
                }
            ]
        },
    )
    title: Title
    description: Annotated[str, Field(min_length=1, max_length=2000), TEXT_CHECK]
    url: AnyHttpUrl | None = Field(None, description="Where to read more (http or https)")
    audience: Audience = "all"


class FeatureOut(BaseModel):
    feature_id: str
    audience: str
    status: Literal["accepted"] = "accepted"
