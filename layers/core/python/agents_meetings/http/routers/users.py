"""/api/v1/users (self-service) and /api/v1/admin/users, /api/v1/admin/audit-logs (administration)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from agents_meetings.audit import AuditLog
from agents_meetings.clock import utcnow
from agents_meetings.errors import Unprocessable
from agents_meetings.http.dependencies import DEFAULT_PAGE, Cursor, Limit, ResourceId, UserServiceDep
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas import PageOut
from agents_meetings.http.schemas.users import AuditEntryOut, ProfileIn, RejectIn, RoleIn, StatisticsOut, UserOut
from agents_meetings.http.security import AdminPrincipal, AdminRoute, CurrentPrincipal
from agents_meetings.statistics.reading import statistics_of
from agents_meetings.users.service import AccountStatus, ProfileChanges, Role

router = APIRouter(prefix="/api/v1/users", tags=["users"])
admin_router = APIRouter(prefix="/api/v1/admin", tags=["admin: users"], route_class=AdminRoute)


@router.get("/me", response_model=UserOut, responses=error_responses(401, 403))
async def get_me(principal: CurrentPrincipal) -> UserOut:
    return UserOut.of(principal.user)


@router.patch(
    "/me",
    response_model=UserOut,
    responses=error_responses(401, 403, 422),
    summary="Change your own profile (name, timezone, bio, expertise)",
)
async def update_me(body: ProfileIn, principal: CurrentPrincipal, service: UserServiceDep) -> UserOut:
    changes = ProfileChanges(**body.model_dump(exclude_unset=True, exclude_none=True))
    return UserOut.of(service.update_profile(principal.actor, changes))


@router.get(
    "/me/statistics",
    response_model=StatisticsOut,
    responses=error_responses(401, 403),
    summary="Meetings you hosted and attended, and time spent in meetings",
)
async def my_statistics(principal: CurrentPrincipal) -> StatisticsOut:
    stats = statistics_of(principal.user.id)
    return StatisticsOut(
        user_id=stats.user_id,
        meetings_hosted=stats.meetings_hosted,
        meetings_attended=stats.meetings_attended,
        attended_seconds=stats.attended_seconds,
    )


@admin_router.get(
    "/users",
    response_model=PageOut[UserOut],
    responses=error_responses(400, 401, 403, 422),
    summary="List users, newest first, filtered by role, activity and status",
)
async def list_users(
    principal: AdminPrincipal,
    service: UserServiceDep,
    role: Role | None = None,
    is_active: bool | None = None,
    status: AccountStatus | None = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> PageOut[UserOut]:
    page = service.list_users(
        principal.actor, role=role, is_active=is_active, status=status, limit=limit, cursor=cursor
    )
    return PageOut[UserOut](items=[UserOut.of(u) for u in page.items], next_cursor=page.next_cursor)


@admin_router.get("/users/{user_id}", response_model=UserOut, responses=error_responses(401, 403, 404))
async def get_user(user_id: ResourceId, principal: AdminPrincipal, service: UserServiceDep) -> UserOut:
    return UserOut.of(service.get(user_id))


@admin_router.post("/users/{user_id}/approve", response_model=UserOut, responses=error_responses(401, 403, 404, 409))
async def approve_user(user_id: ResourceId, principal: AdminPrincipal, service: UserServiceDep) -> UserOut:
    return UserOut.of(service.approve(principal.actor, user_id))


@admin_router.post("/users/{user_id}/reject", response_model=UserOut, responses=error_responses(401, 403, 404, 409))
async def reject_user(
    user_id: ResourceId, principal: AdminPrincipal, service: UserServiceDep, body: RejectIn | None = None
) -> UserOut:
    return UserOut.of(service.reject(principal.actor, user_id, body.reason if body else None))


@admin_router.put("/users/{user_id}/role", response_model=UserOut, responses=error_responses(401, 403, 404, 409, 422))
async def change_role(user_id: ResourceId, body: RoleIn, principal: AdminPrincipal, service: UserServiceDep) -> UserOut:
    return UserOut.of(service.change_role(principal.actor, user_id, body.role))


@admin_router.post("/users/{user_id}/deactivate", response_model=UserOut, responses=error_responses(401, 403, 404, 409))
async def deactivate_user(user_id: ResourceId, principal: AdminPrincipal, service: UserServiceDep) -> UserOut:
    return UserOut.of(service.set_active(principal.actor, user_id, False))


@admin_router.post("/users/{user_id}/activate", response_model=UserOut, responses=error_responses(401, 403, 404))
async def activate_user(user_id: ResourceId, principal: AdminPrincipal, service: UserServiceDep) -> UserOut:
    return UserOut.of(service.set_active(principal.actor, user_id, True))


@admin_router.get(
    "/audit-logs",
    response_model=PageOut[AuditEntryOut],
    responses=error_responses(400, 401, 403, 422),
    summary="The audit trail, newest first: one month, or everything about one target",
)
async def audit_logs(
    principal: AdminPrincipal,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> PageOut[AuditEntryOut]:
    log = AuditLog()
    if month and target_id:
        raise Unprocessable("Filter by month or by target_id, not both.", code="conflicting_filters")
    if target_id:
        page = log.for_target(target_id, limit=limit, cursor=cursor)
    else:
        page = log.for_month(month or utcnow().strftime("%Y-%m"), limit=limit, cursor=cursor)
    return PageOut[AuditEntryOut](items=[AuditEntryOut.of(e) for e in page.items], next_cursor=page.next_cursor)
