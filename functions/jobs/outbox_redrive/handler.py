"""Lambda (scheduled): re-publish domain events that EventBridge refused and the outbox kept."""

from typing import Any

from agents_meetings.events.publisher import EventBridgePublisher
from agents_meetings.observability import logger, metrics, observed
from agents_meetings.tables import bind_tables

bind_tables()
publisher = EventBridgePublisher()


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    result = publisher.redrive_outbox()
    metrics.add_metric(name="OutboxRedriven", unit="Count", value=result["sent"])
    if result["failed"]:
        metrics.add_metric(name="OutboxStillFailing", unit="Count", value=result["failed"])
        logger.warning("outbox events still failing", extra=result)
    return result
