"""/api/v1/admin/rate-limits: view and change limits and the IP allow-list at run time (audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from agents_meetings.audit import AuditLog
from agents_meetings.errors import InvalidRequest, NotFound
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas.rate_limits import (
    AllowListEntryOut,
    AllowListIn,
    LimitIn,
    LimitName,
    LimitOut,
    RateLimitsOut,
    ResetIn,
)
from agents_meetings.http.security import AdminPrincipal, AdminRoute
from agents_meetings.ratelimit import config as rate_config
from agents_meetings.ratelimit.config import config_cache, normalise_network, read_config
from agents_meetings.ratelimit.rules import SPECIAL_NAMES, parse_rate
from agents_meetings.ratelimit.service import rate_limit_service
from agents_meetings.settings import get_settings

router = APIRouter(prefix="/api/v1/admin/rate-limits", tags=["admin: rate limits"], route_class=AdminRoute)

Network = Annotated[str, Query(min_length=2, max_length=64, description="IP address or CIDR block")]


def _view() -> RateLimitsOut:
    settings = get_settings()
    config = read_config(settings)
    limits = [
        LimitOut(
            name=name,
            kind="special" if name in SPECIAL_NAMES else "tier",
            rate=str(setting.rate),
            limit=setting.rate.limit,
            period_seconds=setting.rate.period_seconds,
            shards=setting.shards,
            overridden=setting.overridden,
        )
        for name, setting in config.limits.items()
    ]
    allow_list = [AllowListEntryOut(network=network, note=note) for network, note in sorted(config.allow_list.items())]
    return RateLimitsOut(
        enabled=settings.rate_limit_enabled, storage=settings.rate_limit_storage, limits=limits, allow_list=allow_list
    )


def _network(entry: str) -> str:
    try:
        return normalise_network(entry)
    except ValueError as exc:
        raise InvalidRequest(f"{entry!r} is not an IP address or CIDR block.", code="invalid_network") from exc


@router.get(
    "", response_model=RateLimitsOut, responses=error_responses(401, 403), summary="Current limits and allow-list"
)
async def get_rate_limits(principal: AdminPrincipal) -> RateLimitsOut:
    return _view()


@router.put(
    "/limits/{name}",
    response_model=RateLimitsOut,
    responses=error_responses(401, 403, 422),
    summary="Change a tier's or a route's limit (applies within 30 s everywhere, at once here)",
)
async def put_limit(name: LimitName, body: LimitIn, principal: AdminPrincipal) -> RateLimitsOut:
    before = config_cache.get().limits[name]
    rate = parse_rate(body.rate)
    rate_config.save_limit(name, rate, body.shards, updated_by=principal.actor.user_id)
    AuditLog().record(
        principal.actor,
        "rate_limit.changed",
        "rate_limit",
        name,
        {"from": str(before.rate), "to": str(rate), "shards": body.shards},
    )
    return _view()


@router.delete(
    "/limits/{name}",
    response_model=RateLimitsOut,
    responses=error_responses(401, 403, 422),
    summary="Return a limit to the deployment's default",
)
async def delete_limit(name: LimitName, principal: AdminPrincipal) -> RateLimitsOut:
    rate_config.delete_limit(name)
    AuditLog().record(principal.actor, "rate_limit.reset_to_default", "rate_limit", name)
    return _view()


@router.put(
    "/allow-list",
    response_model=RateLimitsOut,
    responses=error_responses(400, 401, 403, 422),
    summary="Exempt an IP address or CIDR block from rate limiting",
)
async def put_allow_listed(body: AllowListIn, principal: AdminPrincipal) -> RateLimitsOut:
    canonical = _network(body.network)
    rate_config.save_allow_listed(canonical, body.note, updated_by=principal.actor.user_id)
    AuditLog().record(principal.actor, "rate_limit.allow_listed", "rate_limit_allow_list", canonical)
    return _view()


@router.delete(
    "/allow-list",
    response_model=RateLimitsOut,
    responses=error_responses(400, 401, 403, 404, 422),
    summary="Remove an allow-list entry",
)
async def delete_allow_listed(network: Network, principal: AdminPrincipal) -> RateLimitsOut:
    canonical = _network(network)
    if not rate_config.delete_allow_listed(canonical):
        raise NotFound(f"{canonical} is not on the allow-list.", code="allow_list_entry_not_found")
    AuditLog().record(principal.actor, "rate_limit.allow_list_removed", "rate_limit_allow_list", canonical)
    return _view()


@router.post(
    "/reset",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 422),
    summary="Forget a caller's count for one limit",
)
async def reset_counter(body: ResetIn, principal: AdminPrincipal) -> Response:
    rate_limit_service(get_settings().rate_limit_storage).reset_counter(body.caller, body.limit)
    AuditLog().record(principal.actor, "rate_limit.counter_reset", "rate_limit", body.limit, {"caller": body.caller})
    return Response(status_code=204)
