"""Lambda: SQS (fed by the auto-record rule) -> start recording on MeetingStarted, stop on MeetingEnded.

Idempotent twice over: Powertools idempotency keyed on the event id, and the meeting's conditional
recording claim (a meeting already recording is not started again).
"""

from typing import Any

from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventBridgePublisher
from agents_meetings.observability import logger, metrics, tracer
from agents_meetings.recordings.service import RecordingService
from agents_meetings.settings import get_settings
from agents_meetings.tables import bind_tables
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

settings = get_settings()
bind_tables(settings)
processor = BatchProcessor(event_type=EventType.SQS)
persistence = DynamoDBPersistenceLayer(table_name=settings.table_name("idempotency"))
idempotency = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=7 * 24 * 3600)
recordings = RecordingService(EventBridgePublisher())


@idempotent_function(data_keyword_argument="event", persistence_store=persistence, config=idempotency)
def apply_event(event: dict[str, Any]) -> str | None:
    meeting_id = event["detail"]["meeting_id"]
    if event["detail-type"] == DomainEvent.MEETING_STARTED.value:
        job = recordings.start_for_meeting(meeting_id)
    else:
        job = recordings.stop_for_meeting(meeting_id)
    return job.id if job else None


def record_handler(record: SQSRecord) -> None:
    event = record.json_body
    recording_id = apply_event(event=event)
    logger.info(
        "auto-record applied",
        extra={"event_id": event.get("id"), "detail_type": event.get("detail-type"), "recording_id": recording_id},
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
