"""Lambda (scheduled): recompute the dashboard counters and participant counts from the tables."""

from typing import Any

from agents_meetings.observability import logger, observed
from agents_meetings.statistics.platform import reconcile
from agents_meetings.tables import bind_tables

bind_tables()


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    values = reconcile()
    logger.info("platform counters reconciled", extra={"counters": values})
    return values
