"""The append-only audit log: one item per mutating action, never updated or deleted by the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.pagination import Page, decode_cursor, encode_cursor, index_key_names, paginate
from agents_meetings.tables import AuditLogModel


@dataclass(frozen=True)
class Actor:
    """Who did something, from where: the caller of a service method."""

    user_id: str
    role: str
    source_ip: str | None = None
    request_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


SYSTEM = Actor(user_id="system", role="system")


class AuditLog:
    def record(
        self,
        actor: Actor,
        action: str,
        target_type: str,
        target_id: str,
        details: dict[str, Any] | None = None,
    ) -> AuditLogModel:
        now = utcnow()
        entry_id = str(uuid.uuid4())
        entry = AuditLogModel(
            month=now.strftime("%Y-%m"),
            sort_key=f"{isoformat_z(now)}#{entry_id}",
            id=entry_id,
            timestamp=now,
            actor_id=actor.user_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            source_ip=actor.source_ip,
            request_id=actor.request_id,
            details=details or None,
        )
        # The condition makes the write append-only: an existing entry is never overwritten.
        entry.save(condition=AuditLogModel.sort_key.does_not_exist())
        return entry

    def for_target(self, target_id: str, *, limit: int, cursor: str | None) -> Page[AuditLogModel]:
        key_names = index_key_names(AuditLogModel, "by_target")
        items, last = paginate(
            lambda start: AuditLogModel.by_target.query(target_id, scan_index_forward=False, last_evaluated_key=start),
            key_names=key_names,
            limit=limit,
            cursor_key=decode_cursor(cursor),
        )
        return Page(items, encode_cursor(last) if last else None)

    def for_month(self, month: str, *, limit: int, cursor: str | None) -> Page[AuditLogModel]:
        key_names = index_key_names(AuditLogModel)
        items, last = paginate(
            lambda start: AuditLogModel.query(month, scan_index_forward=False, last_evaluated_key=start),
            key_names=key_names,
            limit=limit,
            cursor_key=decode_cursor(cursor),
        )
        return Page(items, encode_cursor(last) if last else None)
