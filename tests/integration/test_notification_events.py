"""Domain events -> notifications through the real notify worker (SQS event in, Powertools
idempotency, the producer): every type of spec 1.2, the right recipients, duplicates ignored,
and the "meeting starting" reminder job."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import build_detail
from agents_meetings.notifications.catalog import NotificationType
from agents_meetings.notifications.jobs import MeetingReminders
from agents_meetings.notifications.service import NotificationService
from agents_meetings.notifications.websocket import WebSocketManager
from agents_meetings.tables import NotificationModel
from http_support import FakeLambdaContext, future
from notification_support import RecordingSender

pytestmark = pytest.mark.integration


def sqs_event(*events: tuple[DomainEvent, dict[str, Any]]) -> dict[str, Any]:
    records = []
    for event, detail in events:
        body = {"id": detail["event_id"], "detail-type": event.value, "source": event.source, "detail": detail}
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "r",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notify",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


@pytest.fixture
def worker(aws: Any, load_handler: Callable[[str], ModuleType]) -> ModuleType:
    module = load_handler("workers/notify")
    # The worker's WebSocket sender is the port; here it records frames.
    module.producer.service.websockets = WebSocketManager(RecordingSender())
    return module


@pytest.fixture
def scene(client: Any, make_user: Any) -> dict[str, Any]:
    host, guest, other = make_user("host", full_name="Hana Host"), make_user(full_name="Gus Guest"), make_user()
    meeting = client.post(
        "/api/v1/meetings", json={"title": "Chemistry", "scheduled_at": future(days=0, hours=1)}, headers=host.headers
    ).json()
    invited = client.post(
        f"/api/v1/meetings/{meeting['id']}/participants", json={"user_ids": [guest.id]}, headers=host.headers
    )
    assert invited.status_code in (200, 201), invited.text
    return {"host": host, "guest": guest, "other": other, "meeting": meeting}


def types_of(user_id: str) -> list[str]:
    return sorted(n.type for n in NotificationModel.query(user_id))


def run(worker: ModuleType, event: DomainEvent, detail: dict[str, Any]) -> dict[str, Any]:
    body = build_detail(event, detail)
    result: dict[str, Any] = worker.handler(sqs_event((event, body)), FakeLambdaContext())
    assert result == {"batchItemFailures": []}
    return body


def test_meeting_events_reach_the_right_people(worker: ModuleType, scene: dict[str, Any]) -> None:
    host, guest, other, meeting = scene["host"], scene["guest"], scene["other"], scene["meeting"]
    m = meeting["id"]
    run(
        worker,
        DomainEvent.MEETING_STARTED,
        {"meeting_id": m, "host_id": host.id, "room_name": "r", "auto_record": False, "languages": ["en"]},
    )
    run(
        worker,
        DomainEvent.PARTICIPANT_JOINED,
        {"meeting_id": m, "user_id": guest.id, "joined_at": "2030-01-01T00:00:00Z"},
    )
    run(
        worker,
        DomainEvent.PARTICIPANT_JOINED,
        {"meeting_id": m, "user_id": host.id, "joined_at": "2030-01-01T00:00:00Z"},
    )
    run(worker, DomainEvent.PARTICIPANT_LEFT, {"meeting_id": m, "user_id": guest.id, "joined_at": "x", "left_at": "y"})
    run(worker, DomainEvent.MEETING_ENDED, {"meeting_id": m, "host_id": host.id, "started_at": "x", "ended_at": "y"})
    run(
        worker,
        DomainEvent.RECORDING_COMPLETED,
        {"recording_id": "rec-1", "meeting_id": m, "host_id": host.id, "duration_seconds": 600},
    )
    run(
        worker,
        DomainEvent.TRANSCRIPT_READY,
        {
            "recording_id": "rec-1",
            "meeting_id": m,
            "host_id": host.id,
            "language": "en",
            "transcription_job_id": "t",
            "storage_path": "p",
        },
    )
    assert types_of(guest.id) == ["meeting_ended", "meeting_started", "recording_available", "transcript_available"]
    assert types_of(host.id) == [
        "participant_joined",
        "participant_left",
        "recording_available",
        "transcript_available",
    ]
    assert types_of(other.id) == []
    joined = next(n for n in NotificationModel.query(host.id) if n.type == "participant_joined")
    assert joined.message == "Gus Guest joined Chemistry." and joined.data["meeting_id"] == m


def test_account_feedback_and_platform_events_produce_every_remaining_type(
    worker: ModuleType, scene: dict[str, Any]
) -> None:
    host, guest, meeting = scene["host"], scene["guest"], scene["meeting"]["id"]
    run(
        worker,
        DomainEvent.USER_ROLE_CHANGED,
        {"user_id": guest.id, "old_role": "participant", "new_role": "teacher", "changed_by": "a"},
    )
    run(worker, DomainEvent.USER_PROFILE_UPDATED, {"user_id": guest.id, "fields": ["bio"]})
    run(worker, DomainEvent.USER_APPROVED, {"user_id": guest.id, "approved_by": "a"})
    run(worker, DomainEvent.USER_REJECTED, {"user_id": "rejected-user", "rejected_by": "a"})
    run(
        worker,
        DomainEvent.FEEDBACK_RECEIVED,
        {"feedback_id": "f1", "meeting_id": meeting, "recipient_id": host.id, "from_user_id": guest.id},
    )
    run(
        worker,
        DomainEvent.RATING_RECEIVED,
        {"rating_id": "r1", "meeting_id": meeting, "recipient_id": host.id, "from_user_id": guest.id, "rating": 5},
    )
    run(
        worker,
        DomainEvent.QUESTION_ANSWERED,
        {"question_id": "q1", "meeting_id": meeting, "asked_by": guest.id, "answered_by": host.id},
    )
    run(
        worker,
        DomainEvent.SYSTEM_MAINTENANCE_SCHEDULED,
        {
            "maintenance_id": "mx",
            "starts_at": "2030-01-01T00:00:00Z",
            "ends_at": "2030-01-01T01:00:00Z",
            "description": "DB upgrade",
            "audience": "all",
        },
    )
    run(
        worker,
        DomainEvent.NEW_FEATURE_RELEASED,
        {"feature_id": "fx", "title": "Polls", "description": "Run polls", "audience": "host"},
    )
    run(
        worker,
        DomainEvent.ANNOUNCEMENT_PUBLISHED,
        {
            "announcement_id": "ax",
            "title": "Hi",
            "message": "All",
            "priority": "low",
            "audience": "all",
            "published_by": "a",
        },
    )
    assert types_of(guest.id) == [
        "account_approved",
        "announcement",
        "profile_updated",
        "question_answered",
        "role_changed",
        "system_maintenance_scheduled",
    ]
    assert types_of(host.id) == [
        "announcement",
        "new_feature_available",
        "new_feedback_received",
        "rating_received",
        "system_maintenance_scheduled",
    ]
    assert types_of("rejected-user") == ["account_rejected"]


def test_a_redelivered_event_changes_nothing(worker: ModuleType, scene: dict[str, Any]) -> None:
    host, guest, m = scene["host"], scene["guest"], scene["meeting"]["id"]
    body = build_detail(
        DomainEvent.RECORDING_COMPLETED,
        {"recording_id": "r", "meeting_id": m, "host_id": host.id, "duration_seconds": 60},
    )
    for _ in range(2):
        assert worker.handler(sqs_event((DomainEvent.RECORDING_COMPLETED, body)), FakeLambdaContext()) == {
            "batchItemFailures": []
        }
    assert types_of(guest.id) == ["recording_available"]
    assert types_of(host.id) == ["recording_available"]


def test_every_notification_type_is_produced_by_an_event_or_the_reminder_job() -> None:
    import inspect

    from agents_meetings.notifications import jobs, producers

    source = inspect.getsource(producers) + inspect.getsource(jobs)
    missing = [t.name for t in NotificationType if f"NotificationType.{t.name}" not in source]
    assert missing == []


def test_meeting_starting_reminders_go_out_once_15_minutes_before(
    aws: Any, scene: dict[str, Any], frozen_clock: Any
) -> None:
    host, guest, meeting = scene["host"], scene["guest"], scene["meeting"]
    service = NotificationService(websockets=WebSocketManager(RecordingSender()))
    reminders = MeetingReminders(service)
    assert reminders.run() == 0  # an hour away
    frozen_clock.advance(minutes=46)  # 14 minutes before
    assert reminders.run() == 2
    assert reminders.run() == 0  # idempotent
    frozen_clock.advance(minutes=1)
    assert reminders.run() == 0
    [reminder] = [n for n in NotificationModel.query(guest.id) if n.type == "meeting_starting"]
    assert "Chemistry starts in 14 minutes" in reminder.title
    assert [n.type for n in NotificationModel.query(host.id)] == ["meeting_starting"]
    _ = meeting, timedelta
