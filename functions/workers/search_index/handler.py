"""Lambda: SQS (fed by the search-index EventBridge rule) -> the search indexes.

Each message is one EventBridge event; indexing reads the record as stored now, so a duplicate or
out-of-order delivery changes nothing (so no idempotency record). Failed messages go back to SQS
(then the DLQ).
"""

from typing import Any

from agents_meetings.observability import logger
from agents_meetings.search.indexer import IndexingService
from agents_meetings.tables import bind_tables
from agents_meetings.workers import event_fields, sqs_worker

bind_tables()
indexing = IndexingService()


def index(event: dict[str, Any]) -> str | None:
    return indexing.apply(event["detail-type"], event["detail"])


def report(event: dict[str, Any], entity: str | None) -> None:
    logger.info("indexed", extra={**event_fields(event), "entity": entity})


handler = sqs_worker(index, report=report, idempotent=False)
