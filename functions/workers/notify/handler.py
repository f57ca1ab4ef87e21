"""Lambda: SQS (fed by the notify EventBridge rule) -> notifications for every affected user.

Each message is one EventBridge event. Powertools idempotency keyed on the event id makes a
redelivered event harmless; inside, every notification carries the event id as its source key,
so an event retried after a partial failure completes without duplicating what was created."""

from typing import Any

from agents_meetings.notifications.producers import NotificationProducer
from agents_meetings.notifications.service import NotificationService
from agents_meetings.observability import logger, metrics
from agents_meetings.tables import bind_tables
from agents_meetings.workers import event_fields, sqs_worker

bind_tables()
producer = NotificationProducer(NotificationService())


def notify(event: dict[str, Any]) -> dict[str, Any]:
    result = producer.handle(event["detail-type"], event["detail"])
    return {"event": result.event, "notifications": result.notifications}


def report(event: dict[str, Any], result: dict[str, Any]) -> None:
    metrics.add_metric(name="NotificationsFromEvents", unit="Count", value=result["notifications"])
    logger.info("notified", extra={**event_fields(event), **result})


handler = sqs_worker(notify, report=report)
