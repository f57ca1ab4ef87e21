"""The body of /api/v1/health."""

from __future__ import annotations

from pydantic import (
    BaseModel,
)


class HealthOut(BaseModel):
    status: str
    version: str
    checks: dict[str, str]
    latency_ms: float
