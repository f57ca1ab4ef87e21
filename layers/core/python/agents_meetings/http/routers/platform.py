"""/api/v1/admin/dashboard, /api/v1/admin/settings (admins) and /api/v1/presence (everyone)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query

from agents_meetings.audit import AuditLog
from agents_meetings.errors import Unprocessable
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas.platform import (
    DashboardStatsOut,
    PlatformSettingsIn,
    PlatformSettingsOut,
    PresenceListOut,
    PresenceOut,
)
from agents_meetings.http.security import AdminPrincipal, AdminRoute, CurrentPrincipal
from agents_meetings.platform_settings import platform_settings, save_platform_settings
from agents_meetings.presence.service import MAX_USER_IDS, PresenceService
from agents_meetings.statistics.dashboard import dashboard_statistics

dashboard_router = APIRouter(prefix="/api/v1/admin/dashboard", tags=["admin: dashboard"], route_class=AdminRoute)
settings_router = APIRouter(prefix="/api/v1/admin/settings", tags=["admin: settings"], route_class=AdminRoute)
presence_router = APIRouter(prefix="/api/v1/presence", tags=["presence"])

_USER_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dashboard_router.get(
    "/stats",
    response_model=DashboardStatsOut,
    responses=error_responses(401, 403),
    summary="Platform statistics: users, meetings, participants now, recordings, notifications (cached 5 min)",
)
async def get_dashboard_stats(principal: AdminPrincipal) -> DashboardStatsOut:
    return DashboardStatsOut.model_validate(dashboard_statistics())


@settings_router.get(
    "", response_model=PlatformSettingsOut, responses=error_responses(401, 403), summary="Platform settings"
)
async def get_platform_settings(principal: AdminPrincipal) -> PlatformSettingsOut:
    return PlatformSettingsOut.model_validate(platform_settings().as_dict())


@settings_router.put(
    "",
    response_model=PlatformSettingsOut,
    responses=error_responses(401, 403, 409, 422),
    summary="Replace the platform settings (audited; applies at once everywhere)",
)
async def put_platform_settings(body: PlatformSettingsIn, principal: AdminPrincipal) -> PlatformSettingsOut:
    before, after = save_platform_settings(
        registration_open=body.registration_open,
        default_meeting_languages=list(dict.fromkeys(body.default_meeting_languages)),
        maintenance_banner=body.maintenance_banner,
        updated_by=principal.actor.user_id,
        expected_version=body.expected_version,
    )
    old, new = before.as_dict(), after.as_dict()
    changed = sorted(
        name
        for name in ("registration_open", "default_meeting_languages", "maintenance_banner")
        if old[name] != new[name]
    )
    AuditLog().record(
        principal.actor,
        "platform.settings_changed",
        "platform_settings",
        "platform",
        {"fields": changed, "before": {k: old[k] for k in changed}, "after": {k: new[k] for k in changed}},
    )
    return PlatformSettingsOut.model_validate(new)


@presence_router.get(
    "",
    response_model=PresenceListOut,
    responses=error_responses(401, 403, 422),
    summary="Who is online among these users (those you share a meeting with; admins: anyone)",
)
async def get_presence(
    principal: CurrentPrincipal,
    user_ids: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_USER_IDS * 65,
            description=f"Comma-separated user ids, at most {MAX_USER_IDS}",
            examples=["7d0b5a4e-0c1a-4a38-9b7e-2f7f3c1f8b10,2b8f1c3a-55e0-4c7e-a1d2-9f0e8b7c6d5a"],
        ),
    ],
) -> PresenceListOut:
    ids = [part.strip() for part in user_ids.split(",")]
    malformed = [part for part in ids if not _USER_ID.match(part)]
    if malformed:
        raise Unprocessable(
            "user_ids must be comma-separated ids (letters, digits and dashes, 1-64 characters).",
            code="invalid_user_ids",
            details={"invalid": malformed[:10]},
        )
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_USER_IDS:
        raise Unprocessable(
            f"At most {MAX_USER_IDS} user ids per request.", code="too_many_user_ids", details={"count": len(unique)}
        )
    found = PresenceService().presence_of(principal.actor, unique)
    return PresenceListOut(
        items=[PresenceOut(user_id=p.user_id, online=p.online, last_seen_at=p.last_seen_at) for p in found]
    )
