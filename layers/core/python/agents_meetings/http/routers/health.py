"""/api/v1/health: liveness plus a cheap check that the user table answers."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from agents_meetings import __version__
from agents_meetings.http.schemas.health import HealthOut
from agents_meetings.observability import logger
from agents_meetings.platform_settings import platform_settings
from agents_meetings.users.health import check_user_table

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut}},
    summary="Health of the API and its database (no authentication)",
)
async def health() -> JSONResponse:
    started = time.perf_counter()
    checks: dict[str, str] = {}
    try:
        check_user_table()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy, reported not raised
        logger.warning("health check failed", extra={"error": type(exc).__name__})
        checks["database"] = "unavailable"
    healthy = all(value == "ok" for value in checks.values())
    banner, registration_open = None, True
    try:
        current = platform_settings()
        banner, registration_open = current.maintenance_banner, current.registration_open
    except Exception as exc:  # noqa: BLE001 - the banner is optional; health answers regardless
        logger.warning("platform settings unavailable", extra={"error": type(exc).__name__})
    body = HealthOut(
        status="ok" if healthy else "degraded",
        version=__version__,
        checks=checks,
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
        maintenance_banner=banner,
        registration_open=registration_open,
    )
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
