"""Lambda: SQS (fed by the user-statistics EventBridge rule) -> per-user meeting statistics.

Each message is one EventBridge event. Powertools' batch processor reports only the failed
messages back to SQS; idempotency keyed on the event id makes redelivery harmless.
"""

from typing import Any

from agents_meetings.observability import logger, metrics, tracer
from agents_meetings.settings import get_settings
from agents_meetings.statistics.service import StatisticsService
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
statistics = StatisticsService()


@idempotent_function(data_keyword_argument="event", persistence_store=persistence, config=idempotency)
def apply_event(event: dict[str, Any]) -> str | None:
    return statistics.apply(event["detail-type"], event["detail"])


def record_handler(record: SQSRecord) -> None:
    event = record.json_body
    changed = apply_event(event=event)
    logger.info(
        "statistics updated",
        extra={"event_id": event.get("id"), "detail_type": event.get("detail-type"), "user_id": changed},
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
