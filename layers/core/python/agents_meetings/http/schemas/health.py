"""The body of /api/v1/health."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    status: str
    version: str
    checks: dict[str, str]
    latency_ms: float
    # Platform settings clients show (admins set them: PUT /api/v1/admin/settings).
    maintenance_banner: str | None = Field(None, description="Text to show every user; null: none")
    registration_open: bool = Field(True, description="Whether POST /api/v1/auth/register accepts sign-ups")
