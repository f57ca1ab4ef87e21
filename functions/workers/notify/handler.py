"""Lambda: SQS (fed by the notify EventBridge rule) -> notifications for every affected user.

Each message is one EventBridge event. Powertools idempotency keyed on the event id makes a
redelivered event harmless; inside, every notification carries the event id as its source key,
so an event retried after a partial failure completes without duplicating what was created.
"""

from typing import Any

from agents_meetings.notifications.producers import NotificationProducer
from agents_meetings.notifications.service import NotificationService
from agents_meetings.observability import logger, metrics, tracer
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
producer = NotificationProducer(NotificationService(settings=settings))


@idempotent_function(data_keyword_argument="event", persistence_store=persistence, config=idempotency)
def notify(event: dict[str, Any]) -> dict[str, Any]:
    result = producer.handle(event["detail-type"], event["detail"])
    return {"event": result.event, "notifications": result.notifications}


def record_handler(record: SQSRecord) -> None:
    event = record.json_body
    result = notify(event=event)
    metrics.add_metric(name="NotificationsFromEvents", unit="Count", value=result["notifications"])
    logger.info("notified", extra={"event_id": event.get("id"), "detail_type": event.get("detail-type"), **result})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
