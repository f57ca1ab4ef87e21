"""Lambda (scheduled): finish recordings whose egress_ended webhook never came (list_egress)."""

from dataclasses import asdict
from typing import Any

from agents_meetings.events.publisher import EventBridgePublisher
from agents_meetings.observability import logger, metrics, observed
from agents_meetings.recordings.service import RecordingService
from agents_meetings.tables import bind_tables

bind_tables()
recordings = RecordingService(EventBridgePublisher())


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = recordings.reconcile()
    metrics.add_metric(name="RecordingTracksReconciled", unit="Count", value=report.tracks_finished)
    if report.errors:
        logger.warning("reconcile could not reach LiveKit for some recordings", extra={"errors": report.errors})
    return asdict(report)
