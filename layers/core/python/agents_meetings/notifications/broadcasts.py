"""Platform-wide announcements by admins: scheduled maintenance windows and new features.

Each is audited and published as an event (``SystemMaintenanceScheduled``, ``NewFeatureReleased``);
the notify worker turns it into one batch of notifications for every active user (or one role).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.clock import isoformat_z, to_utc, utcnow
from agents_meetings.errors import Forbidden, Unprocessable
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventPublisher

# A window may start a little in the past (clock skew); it may not last longer than this.
START_GRACE = timedelta(minutes=5)
MAX_WINDOW = timedelta(days=7)


class BroadcastService:
    def __init__(self, events: EventPublisher, audit: AuditLog | None = None):
        self._events = events
        self._audit = audit or AuditLog()

    def schedule_maintenance(
        self, actor: Actor, *, starts_at: datetime, ends_at: datetime, message: str, audience: str
    ) -> str:
        _require_admin(actor)
        starts, ends = to_utc(starts_at), to_utc(ends_at)
        if ends <= starts:
            raise Unprocessable("ends_at must be after starts_at.", code="invalid_time_range")
        if starts < utcnow() - START_GRACE:
            raise Unprocessable("starts_at is in the past.", code="scheduled_in_past")
        if ends - starts > MAX_WINDOW:
            raise Unprocessable("A maintenance window lasts at most 7 days.", code="window_too_long")
        maintenance_id = str(uuid.uuid4())
        detail = {
            "maintenance_id": maintenance_id,
            "starts_at": isoformat_z(starts),
            "ends_at": isoformat_z(ends),
            "description": message.strip(),
            "audience": audience,
            "scheduled_by": actor.user_id,
        }
        self._audit.record(
            actor,
            "platform.maintenance_scheduled",
            "maintenance",
            maintenance_id,
            {"starts_at": detail["starts_at"], "ends_at": detail["ends_at"], "audience": audience},
        )
        self._events.publish(DomainEvent.SYSTEM_MAINTENANCE_SCHEDULED, detail)
        return maintenance_id

    def announce_feature(self, actor: Actor, *, title: str, description: str, url: str | None, audience: str) -> str:
        _require_admin(actor)
        feature_id = str(uuid.uuid4())
        detail = {
            "feature_id": feature_id,
            "title": title.strip(),
            "description": description.strip(),
            "audience": audience,
            "released_by": actor.user_id,
        }
        if url:
            detail["url"] = url
        self._audit.record(
            actor, "platform.feature_announced", "feature", feature_id, {"title": detail["title"], "audience": audience}
        )
        self._events.publish(DomainEvent.NEW_FEATURE_RELEASED, detail)
        return feature_id


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("This action needs the admin role.", code="admin_required")
