"""StatisticsService: applies one domain event to the user_statistics table with atomic counters.

Exactly-once application is the caller's job (the worker wraps each event in Powertools
idempotency keyed by the event id); the updates here are atomic ADDs, safe under concurrency.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agents_meetings.clock import utcnow
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.tables import UserStatisticsModel


def _seconds_between(start: str | None, end: str | None) -> int:
    if not start or not end:
        return 0
    delta = datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(start.replace("Z", "+00:00"))
    return max(0, int(delta.total_seconds()))


class StatisticsService:
    def apply(self, detail_type: str, detail: dict[str, Any]) -> str | None:
        """Apply the event; returns the user id whose statistics changed (None if ignored)."""
        if detail_type == DomainEvent.MEETING_ENDED:
            self._add(detail["host_id"], meetings_hosted=1)
            return str(detail["host_id"])
        if detail_type == DomainEvent.PARTICIPANT_JOINED:
            if detail.get("user_id") == detail.get("host_id"):
                return None  # hosting is counted when the meeting ends, not as attendance
            if detail.get("rejoined") is True:
                return None  # back after leaving: the same meeting, attended once
            self._add(detail["user_id"], meetings_attended=1)
            return str(detail["user_id"])
        if detail_type == DomainEvent.PARTICIPANT_LEFT:
            self._add(
                detail["user_id"], attended_seconds=_seconds_between(detail.get("joined_at"), detail.get("left_at"))
            )
            return str(detail["user_id"])
        return None

    @staticmethod
    def _add(user_id: str, **increments: int) -> None:
        actions = [getattr(UserStatisticsModel, name).add(value) for name, value in increments.items()]
        actions.append(UserStatisticsModel.updated_at.set(utcnow()))
        UserStatisticsModel(user_id=user_id).update(actions=actions)
