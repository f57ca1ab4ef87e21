"""Lambda: SQS (fed by the auto-record rule) -> start recording on MeetingStarted, stop on MeetingEnded.

Idempotent twice over: Powertools idempotency keyed on the event id, and the meeting's conditional
recording claim (a meeting already recording is not started again)."""

from typing import Any

from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventBridgePublisher
from agents_meetings.observability import logger
from agents_meetings.recordings.service import RecordingService
from agents_meetings.tables import bind_tables
from agents_meetings.workers import event_fields, sqs_worker

bind_tables()
recordings = RecordingService(EventBridgePublisher())


def apply_event(event: dict[str, Any]) -> str | None:
    meeting_id = event["detail"]["meeting_id"]
    started = event["detail-type"] == DomainEvent.MEETING_STARTED.value
    job = recordings.start_for_meeting(meeting_id) if started else recordings.stop_for_meeting(meeting_id)
    return job.id if job else None


def report(event: dict[str, Any], recording_id: str | None) -> None:
    logger.info("auto-record applied", extra={**event_fields(event), "recording_id": recording_id})


handler = sqs_worker(apply_event, report=report)
