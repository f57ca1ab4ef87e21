"""Bodies of /api/v1/users and /api/v1/admin/users, /api/v1/admin/audit-logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from agents_meetings.http.schemas.common import (
    TEXT_CHECK,
    Name,
    ShortText,
    Strict,
    Tag,
    TimezoneName,
    UtcDateTime,
)
from agents_meetings.users.service import AccountStatus, Role

if TYPE_CHECKING:
    from agents_meetings.tables import AuditLogModel, UserModel


class UserOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "7d0b5a4e-0c1a-4a38-9b7e-2f7f3c1f8b10",
                    "email": "ada@example.com",
                    "full_name": "Ada Lovelace",
                    "role": "participant",
                    "status": "approved",
                    "is_active": True,
                    "timezone": "Europe/London",
                    "bio": None,
                    "expertise": [],
                    "created_at": "2026-11-24T10:00:00Z",
                    "updated_at": "2026-11-24T10:00:00Z",
                }
            ]
        }
    )
    id: str
    email: str
    full_name: str
    role: Role
    status: AccountStatus
    is_active: bool
    timezone: str
    bio: str | None
    expertise: list[str]
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def of(cls, user: UserModel) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=Role(user.role),
            status=AccountStatus(user.status),
            is_active=bool(user.is_active),
            timezone=user.timezone,
            bio=user.bio,
            expertise=list(user.expertise or []),
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class ProfileIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "full_name": "Ada King",
                    "timezone": "Europe/London",
                    "bio": "Mathematician",
                    "expertise": ["analysis"],
                }
            ]
        },
    )
    full_name: Name | None = None
    timezone: TimezoneName | None = None
    bio: ShortText | None = None
    expertise: Annotated[list[Tag], Field(max_length=30)] | None = None


class RoleIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "teacher"}]})
    role: Role


class RejectIn(Strict):
    reason: Annotated[str, StringConstraints(max_length=1000), TEXT_CHECK] | None = None


class StatisticsOut(BaseModel):
    user_id: str
    meetings_hosted: int
    meetings_attended: int
    attended_seconds: int


class AuditEntryOut(BaseModel):
    id: str
    timestamp: UtcDateTime
    actor_id: str
    action: str
    target_type: str
    target_id: str
    source_ip: str | None
    request_id: str | None
    details: dict[str, Any] | None

    @classmethod
    def of(cls, entry: AuditLogModel) -> AuditEntryOut:
        return cls(
            id=entry.id,
            timestamp=entry.timestamp,
            actor_id=entry.actor_id,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            source_ip=entry.source_ip,
            request_id=entry.request_id,
            details=entry.details,
        )
