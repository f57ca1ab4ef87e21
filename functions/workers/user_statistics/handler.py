"""Lambda: SQS (fed by the user-statistics EventBridge rule) -> per-user meeting statistics.

Each message is one EventBridge event. Powertools' batch processor reports only the failed
messages back to SQS; idempotency keyed on the event id makes redelivery harmless.
"""

from typing import Any

from agents_meetings.observability import logger
from agents_meetings.statistics.service import StatisticsService
from agents_meetings.tables import bind_tables
from agents_meetings.workers import event_fields, sqs_worker

bind_tables()
statistics = StatisticsService()


def apply_event(event: dict[str, Any]) -> str | None:
    return statistics.apply(event["detail-type"], event["detail"])


def report(event: dict[str, Any], user_id: str | None) -> None:
    logger.info("statistics updated", extra={**event_fields(event), "user_id": user_id})


handler = sqs_worker(apply_event, report=report)
