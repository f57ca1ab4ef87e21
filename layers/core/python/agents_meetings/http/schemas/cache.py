"""Shapes of /api/v1/admin/cache."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class PrefixStatsOut(BaseModel):
    hits: int
    misses: int
    hit_rate: float = Field(description="hits / (hits + misses), 0 when nothing was read")


class CacheStatsOut(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "backend": "redis",
                    "status": "ok",
                    "hits": 9412,
                    "misses": 611,
                    "hit_rate": 0.939,
                    "by_prefix": {
                        "user": {"hits": 5120, "misses": 240, "hit_rate": 0.9552},
                        "meeting": {"hits": 2210, "misses": 301, "hit_rate": 0.8801},
                        "session": {"hits": 2082, "misses": 70, "hit_rate": 0.9675},
                    },
                    "memory_bytes": 1843200,
                    "evictions": 0,
                }
            ]
        }
    }

    backend: Literal["redis", "memory", "none"] = Field(description="CACHE_BACKEND")
    status: Literal["ok", "unavailable", "disabled"] = Field(description="whether the shared tier answered now")
    hits: int = Field(description="reads served by either tier, every instance since the counts began")
    misses: int
    hit_rate: float
    by_prefix: dict[str, PrefixStatsOut] = Field(description="by key prefix (user, meeting, session, ...)")
    memory_bytes: int | None = Field(description="the server's used memory (None: not reported)")
    evictions: int = Field(description="keys the server evicted plus entries the in-process tiers pushed out")
