"""Lambda (daily): apply each finished recording's storage policy (delete when expired, else tier)."""

from typing import Any

from agents_meetings.observability import logger, metrics, observed
from agents_meetings.recordings.retention import StorageService
from agents_meetings.tables import bind_tables

bind_tables()
storage = StorageService()


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    counts = storage.sweep()
    metrics.add_metric(name="RecordingsDeletedByRetention", unit="Count", value=counts.get("deleted", 0))
    logger.info("retention applied", extra=counts)
    return counts
