"""Bodies of /api/v1/admin/rate-limits."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    Field,
    StrictInt,
    field_validator,
)

from agents_meetings.http.schemas.common import (
    PlainLine,
)
from agents_meetings.ratelimit.config import MAX_SHARDS
from agents_meetings.ratelimit.rules import LIMIT_NAMES, parse_rate

LimitName = Literal[
    "anonymous",
    "authenticated",
    "participant",
    "host",
    "admin",
    "login",
    "registration",
    "file_upload",
    "meeting_creation",
]


assert set(LimitName.__args__) == set(LIMIT_NAMES)  # type: ignore[attr-defined]


class LimitOut(BaseModel):
    name: str = Field(examples=["login"])
    kind: Literal["tier", "special"]
    rate: str = Field(examples=["5/15minutes"])
    limit: int = Field(examples=[5])
    period_seconds: int = Field(examples=[900])
    shards: int = Field(1, examples=[1])
    overridden: bool = Field(False, description="Set at run time (otherwise the deployment's default)")


class AllowListEntryOut(BaseModel):
    network: str = Field(examples=["203.0.113.0/24"])
    note: str = Field("", examples=["office NAT"])


class RateLimitsOut(BaseModel):
    enabled: bool
    storage: str = Field(examples=["dynamodb"])
    limits: list[LimitOut]
    allow_list: list[AllowListEntryOut]


class LimitIn(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"rate": "200/minute"}, {"rate": "10/15minutes", "shards": 1}]}}

    rate: str = Field(description="'<count>/<period>', e.g. '100/minute', '5/15minutes', '3/hour'", max_length=40)
    shards: StrictInt = Field(1, ge=1, le=MAX_SHARDS, description="Spread a hot key's count over this many items")

    @field_validator("rate")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        return str(parse_rate(value))


class AllowListIn(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"network": "203.0.113.0/24", "note": "monitoring probe"}]}}

    network: str = Field(min_length=2, max_length=64, description="IP address or CIDR block")
    note: PlainLine = Field("", max_length=200)


class ResetIn(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"limit": "login", "caller": "ip:203.0.113.7"}]}}

    limit: LimitName
    caller: str = Field(
        min_length=4, max_length=100, pattern=r"^(user|ip):[^\s]+$", description="'user:<id>' or 'ip:<address>'"
    )
