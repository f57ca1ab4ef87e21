"""/api/v1/admin/cache: the cache's hit rates by key prefix, memory and evictions (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from agents_meetings.cache import cache_service
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas.cache import CacheStatsOut
from agents_meetings.http.security import AdminPrincipal, AdminRoute

router = APIRouter(prefix="/api/v1/admin/cache", tags=["admin: cache"], route_class=AdminRoute)


@router.get(
    "/stats",
    response_model=CacheStatsOut,
    responses=error_responses(401, 403),
    summary="Cache hit rates by key prefix, memory and evictions, summed over every instance",
)
async def get_cache_stats(principal: AdminPrincipal) -> CacheStatsOut:
    return CacheStatsOut.model_validate(cache_service().report())
