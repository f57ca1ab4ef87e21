"""Platform counters behind the admin dashboard (spec 2.2's materialised dashboard stats).

Each domain event becomes counter deltas applied in one DynamoDB transaction together with the
event's marker (``event#<id>``, put only if absent): a redelivered event fails the condition and
changes nothing, and the deltas are commutative, so the order events arrive in does not matter.
A meeting's ``participant_count`` (the active-meetings view) is recounted from its participants
on every join/leave, written only if no later recount got there first (``counted_at``).
``reconcile`` recomputes every counter from the tables (a scheduled job, never a request).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from agents_meetings.clock import utcnow
from agents_meetings.conditions import cancelled_by_condition, is_condition_failure
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.tables import (
    MeetingModel,
    ParticipantModel,
    PlatformCounterModel,
    RecordingJobModel,
    UserModel,
    transaction_connection,
)

ROLES = ("admin", "teacher", "host", "participant")
ACCOUNT_STATUSES = ("pending", "approved", "rejected")
MEETING_STATUSES = ("scheduled", "active", "ended", "cancelled")
PARTICIPANTS_JOINED = "participants#joined"
RECORDINGS_COUNT = "recordings#count"
RECORDINGS_BYTES = "recordings#bytes"
USERS_INACTIVE = "users#inactive"
# An applied event's marker outlives any redelivery (SQS retention plus redrive).
MARKER_TTL = timedelta(days=7)
# Hourly buckets of notifications sent, kept a little longer than the 24 hours the dashboard sums.
NOTIFICATION_BUCKET_TTL = timedelta(hours=48)


def role_counter(role: str) -> str:
    return f"users#role#{role}"


def status_counter(status: str) -> str:
    return f"users#status#{status}"


def meeting_counter(status: str) -> str:
    return f"meetings#status#{status}"


def notification_bucket(at: datetime) -> str:
    return f"notifications#sent#{at.strftime('%Y-%m-%dT%H')}"


def counter_names() -> list[str]:
    """Every counter the dashboard reads besides the notification buckets."""
    return [
        *map(role_counter, ROLES),
        *map(status_counter, ACCOUNT_STATUSES),
        USERS_INACTIVE,
        *map(meeting_counter, MEETING_STATUSES),
        PARTICIPANTS_JOINED,
        RECORDINGS_COUNT,
        RECORDINGS_BYTES,
    ]


def event_deltas(detail_type: str, detail: dict[str, Any]) -> dict[str, int]:
    """The counter changes one event makes (empty when it changes none)."""
    deltas: dict[str, int] = defaultdict(int)
    if detail_type == DomainEvent.USER_REGISTERED:
        deltas[role_counter(detail["role"])] += 1
        deltas[status_counter(detail["status"])] += 1
    elif detail_type == DomainEvent.USER_APPROVED:
        deltas[status_counter(detail.get("previous_status") or "pending")] -= 1
        deltas[status_counter("approved")] += 1
    elif detail_type == DomainEvent.USER_REJECTED:
        deltas[status_counter("pending")] -= 1
        deltas[status_counter("rejected")] += 1
    elif detail_type == DomainEvent.USER_ROLE_CHANGED:
        deltas[role_counter(detail["old_role"])] -= 1
        deltas[role_counter(detail["new_role"])] += 1
    elif detail_type == DomainEvent.USER_PROFILE_UPDATED and isinstance(detail.get("is_active"), bool):
        deltas[USERS_INACTIVE] += -1 if detail["is_active"] else 1
    elif detail_type == DomainEvent.MEETING_CREATED:
        deltas[meeting_counter("scheduled")] += 1
    elif detail_type == DomainEvent.MEETING_STARTED:
        deltas[meeting_counter("scheduled")] -= 1
        deltas[meeting_counter("active")] += 1
    elif detail_type == DomainEvent.MEETING_ENDED:
        deltas[meeting_counter("active")] -= 1
        deltas[meeting_counter("ended")] += 1
    elif detail_type == DomainEvent.MEETING_UPDATED and detail.get("status") == "cancelled":
        deltas[meeting_counter("scheduled")] -= 1
        deltas[meeting_counter("cancelled")] += 1
    elif detail_type == DomainEvent.PARTICIPANT_JOINED:
        deltas[PARTICIPANTS_JOINED] += 1
    elif detail_type == DomainEvent.PARTICIPANT_LEFT:
        deltas[PARTICIPANTS_JOINED] -= 1
    elif detail_type == DomainEvent.RECORDING_COMPLETED:
        deltas[RECORDINGS_COUNT] += 1
        deltas[RECORDINGS_BYTES] += int(detail.get("file_size_bytes") or 0)
    return {name: delta for name, delta in deltas.items() if delta}


# The events the platform-statistics rule routes to the worker.
COUNTED_EVENTS: tuple[DomainEvent, ...] = (
    DomainEvent.USER_REGISTERED,
    DomainEvent.USER_APPROVED,
    DomainEvent.USER_REJECTED,
    DomainEvent.USER_ROLE_CHANGED,
    DomainEvent.USER_PROFILE_UPDATED,
    DomainEvent.MEETING_CREATED,
    DomainEvent.MEETING_STARTED,
    DomainEvent.MEETING_ENDED,
    DomainEvent.MEETING_UPDATED,
    DomainEvent.PARTICIPANT_JOINED,
    DomainEvent.PARTICIPANT_LEFT,
    DomainEvent.RECORDING_COMPLETED,
)


def add_to_counters(
    deltas: dict[str, int], *, transaction: TransactWrite | None = None, expires: datetime | None = None
) -> None:
    """ADD each delta (creating counters at zero); in ``transaction`` when given."""
    now = utcnow()
    for name, delta in deltas.items():
        actions: list[Action] = [PlatformCounterModel.value.add(delta), PlatformCounterModel.updated_at.set(now)]
        if expires is not None:
            actions.append(PlatformCounterModel.expires_at.set(expires))
        if transaction is not None:
            transaction.update(PlatformCounterModel(name=name), actions=actions)
        else:
            PlatformCounterModel(name=name).update(actions=actions)


def count_notifications_sent(count: int, *, transaction: TransactWrite | None = None) -> None:
    """``count`` notifications were just stored: the current hour's bucket grows."""
    if count > 0:
        now = utcnow()
        add_to_counters(
            {notification_bucket(now): count}, transaction=transaction, expires=now + NOTIFICATION_BUCKET_TTL
        )


class PlatformStatisticsService:
    def apply(self, event_id: str, detail_type: str, detail: dict[str, Any]) -> dict[str, int]:
        """Apply one event exactly once; returns the deltas applied ({} for a duplicate or a no-op)."""
        deltas = event_deltas(detail_type, detail)
        if detail_type in (DomainEvent.PARTICIPANT_JOINED, DomainEvent.PARTICIPANT_LEFT):
            recount_participants(str(detail["meeting_id"]))
        if not deltas:
            return {}
        now = utcnow()
        marker = PlatformCounterModel(name=f"event#{event_id}", value=1, updated_at=now, expires_at=now + MARKER_TTL)
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.save(marker, condition=PlatformCounterModel.name.does_not_exist())
                add_to_counters(deltas, transaction=transaction)
        except TransactWriteError as exc:
            if cancelled_by_condition(exc, 0):
                return {}  # applied before: a redelivery
            raise
        return deltas


def recount_participants(meeting_id: str) -> int | None:
    """Set the meeting's ``participant_count`` to the participants joined now; a recount that
    started before the stored one is dropped (concurrent events may finish in any order)."""
    started = utcnow()
    count = ParticipantModel.count(meeting_id, ParticipantModel.status == "joined", index_name="by_meeting_status")
    try:
        MeetingModel(id=meeting_id).update(
            actions=[MeetingModel.participant_count.set(count), MeetingModel.counted_at.set(started)],
            condition=MeetingModel.id.exists()
            & (MeetingModel.counted_at.does_not_exist() | (MeetingModel.counted_at <= started)),
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return None  # a later recount won, or the meeting is gone
        raise
    return count


def _set_counters(values: dict[str, int]) -> None:
    now = utcnow()
    for name, value in values.items():
        PlatformCounterModel(name=name).update(
            actions=[PlatformCounterModel.value.set(value), PlatformCounterModel.updated_at.set(now)]
        )


def _count(results: Iterable[Any]) -> int:
    return sum(1 for _ in results)


def reconcile() -> dict[str, int]:
    """Recompute every counter from the tables' indexes (COUNT queries; a scheduled job's work, never
    a request's) and the active meetings' participant counts. Returns what it set."""
    values: dict[str, int] = {}
    for role in ROLES:
        values[role_counter(role)] = UserModel.count(role, index_name="by_role")
    for status in ACCOUNT_STATUSES:
        values[status_counter(status)] = UserModel.count(status, index_name="by_status")
    values[USERS_INACTIVE] = UserModel.count("inactive", index_name="by_active")
    for status in MEETING_STATUSES:
        values[meeting_counter(status)] = MeetingModel.count(status, index_name="by_status")
    joined = 0
    for meeting in MeetingModel.by_status.query("active", attributes_to_get=["id"]):
        joined += recount_participants(meeting.id) or 0
    values[PARTICIPANTS_JOINED] = joined
    count = size = 0
    for job in RecordingJobModel.by_status.query("completed"):
        count += 1
        size += int(job.file_size_bytes or 0)
    values[RECORDINGS_COUNT] = count
    values[RECORDINGS_BYTES] = size
    _set_counters(values)
    return values
