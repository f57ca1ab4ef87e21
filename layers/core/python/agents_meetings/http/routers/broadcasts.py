"""/api/v1/admin/maintenance and /api/v1/admin/features: admins tell every user (or one role)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from agents_meetings.http.dependencies import BroadcastServiceDep
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas import TEXT_CHECK, BoundedDateTime, Strict, Title
from agents_meetings.http.security import AdminPrincipal, AdminRoute

maintenance_router = APIRouter(prefix="/api/v1/admin/maintenance", tags=["notifications"], route_class=AdminRoute)
features_router = APIRouter(prefix="/api/v1/admin/features", tags=["notifications"], route_class=AdminRoute)

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


@maintenance_router.post(
    "",
    response_model=MaintenanceOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 403, 422),
    summary="Announce a maintenance window to everyone or one role (admins)",
)
async def schedule_maintenance(
    body: MaintenanceIn, principal: AdminPrincipal, service: BroadcastServiceDep
) -> MaintenanceOut:
    maintenance_id = service.schedule_maintenance(
        principal.actor, starts_at=body.starts_at, ends_at=body.ends_at, message=body.message, audience=body.audience
    )
    return MaintenanceOut(maintenance_id=maintenance_id, audience=body.audience)


@features_router.post(
    "",
    response_model=FeatureOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 403, 422),
    summary="Announce a new feature to everyone or one role (admins)",
)
async def announce_feature(body: FeatureIn, principal: AdminPrincipal, service: BroadcastServiceDep) -> FeatureOut:
    feature_id = service.announce_feature(
        principal.actor,
        title=body.title,
        description=body.description,
        url=str(body.url) if body.url else None,
        audience=body.audience,
    )
    return FeatureOut(feature_id=feature_id, audience=body.audience)
