"""/api/v1/admin/maintenance and /api/v1/admin/features: admins tell every user (or one role)."""

from __future__ import annotations

from fastapi import APIRouter, status

from agents_meetings.http.dependencies import BroadcastServiceDep
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas.broadcasts import FeatureIn, FeatureOut, MaintenanceIn, MaintenanceOut
from agents_meetings.http.security import AdminPrincipal, AdminRoute

maintenance_router = APIRouter(prefix="/api/v1/admin/maintenance", tags=["notifications"], route_class=AdminRoute)
features_router = APIRouter(prefix="/api/v1/admin/features", tags=["notifications"], route_class=AdminRoute)


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
