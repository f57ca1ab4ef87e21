"""Lambda: SQS (fed by the search-index EventBridge rule) -> the search indexes.

Each message is one EventBridge event; indexing reads the record as stored now, so a duplicate or
out-of-order delivery changes nothing. Failed messages go back to SQS (then the DLQ).
"""

from typing import Any

from agents_meetings.observability import logger, metrics, tracer
from agents_meetings.search.indexer import IndexingService
from agents_meetings.settings import get_settings
from agents_meetings.tables import bind_tables
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

bind_tables(get_settings())
processor = BatchProcessor(event_type=EventType.SQS)
indexing = IndexingService()


def record_handler(record: SQSRecord) -> None:
    event = record.json_body
    entity = indexing.apply(event["detail-type"], event["detail"])
    logger.info(
        "indexed", extra={"event_id": event.get("id"), "detail_type": event.get("detail-type"), "entity": entity}
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
