"""Lambda: SQS (platform-statistics rule) -> the dashboard's counters and active meetings' participant
counts. No Powertools idempotency: each event's deltas go in one transaction with the event's marker
(a redelivery changes nothing), and a participant recount is idempotent by nature."""

from typing import Any

from agents_meetings.events.catalog import DomainEvent
from agents_meetings.meetings.active import invalidate_participant_count
from agents_meetings.observability import logger
from agents_meetings.statistics.platform import PlatformStatisticsService
from agents_meetings.tables import bind_tables
from agents_meetings.workers import event_fields, sqs_worker

bind_tables()
statistics = PlatformStatisticsService()


def apply_event(event: dict[str, Any]) -> dict[str, int]:
    detail = event["detail"]
    deltas = statistics.apply(str(event["id"]), event["detail-type"], detail)
    if event["detail-type"] in (DomainEvent.PARTICIPANT_JOINED, DomainEvent.PARTICIPANT_LEFT):
        invalidate_participant_count(str(detail["meeting_id"]))
    return deltas


def report(event: dict[str, Any], deltas: dict[str, int]) -> None:
    logger.info("platform statistics updated", extra={**event_fields(event), "deltas": deltas})


handler = sqs_worker(apply_event, report=report, idempotent=False)
