"""Publishing domain events to EventBridge, with an outbox so that a refused event is never lost."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from agents_meetings.aws_clients import aws_client
from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.events.catalog import REQUIRED_FIELDS, DomainEvent
from agents_meetings.observability import correlation_metadata, logger, metrics
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import EventOutboxModel


class EventPublisher(Protocol):
    def publish(self, event: DomainEvent, detail: Mapping[str, Any]) -> str: ...


def build_detail(event: DomainEvent, detail: Mapping[str, Any]) -> dict[str, Any]:
    """The event's detail: its fields, an id, when it occurred, and ``metadata`` (the correlation id
    of what caused it, and the X-Ray trace header when traced; the event id when nothing did)."""
    missing = REQUIRED_FIELDS[event] - detail.keys()
    if missing:
        raise ValueError(f"{event} is missing {sorted(missing)}")
    event_id = str(uuid.uuid4())
    return {
        "event_id": event_id,
        "occurred_at": isoformat_z(utcnow()),
        **detail,
        "metadata": correlation_metadata(fallback=event_id),
    }


class EventBridgePublisher:
    """Puts events on the platform bus; after boto3's own retries, parks failures in the outbox."""

    ATTEMPTS = 3

    def __init__(self, settings: Settings | None = None, client: Any | None = None):
        self._settings = settings or get_settings()
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("events", settings=self._settings)
        return self._client

    def publish(self, event: DomainEvent, detail: Mapping[str, Any]) -> str:
        body = build_detail(event, detail)
        entry = {
            "Source": event.source,
            "DetailType": event.value,
            "Detail": json.dumps(body, default=str),
            "EventBusName": self._settings.event_bus_name,
        }
        error = "unknown"
        for _ in range(self.ATTEMPTS):
            try:
                response = self.client.put_events(Entries=[entry])
            except Exception as exc:  # noqa: BLE001 - any transport failure goes to the outbox
                error = f"{type(exc).__name__}: {exc}"
                continue
            if response.get("FailedEntryCount", 0) == 0:
                logger.debug("event published", extra={"detail_type": event.value, "event_id": body["event_id"]})
                return str(body["event_id"])
            error = str(response["Entries"][0].get("ErrorMessage") or response["Entries"][0].get("ErrorCode"))
        self._park(body["event_id"], entry, error)
        return str(body["event_id"])

    def _park(self, event_id: str, entry: dict[str, Any], error: str) -> None:
        logger.error("event publish failed; parked in outbox", extra={"event_id": event_id, "error": error})
        metrics.add_metric(name="EventPublishFailed", unit="Count", value=1)
        EventOutboxModel(
            id=event_id,
            detail_type=entry["DetailType"],
            source=entry["Source"],
            detail=entry["Detail"],
            created_at=utcnow(),
            attempts=self.ATTEMPTS,
            last_error=error[:1000],
        ).save()

    def redrive_outbox(self, max_items: int = 500) -> dict[str, int]:
        """Re-send parked events (scheduled job). Sent ones leave the outbox; the rest stay."""
        sent = failed = 0
        for parked in EventOutboxModel.scan(limit=max_items):
            entry = {
                "Source": parked.source,
                "DetailType": parked.detail_type,
                "Detail": parked.detail,
                "EventBusName": self._settings.event_bus_name,
            }
            try:
                response = self.client.put_events(Entries=[entry])
                ok = response.get("FailedEntryCount", 0) == 0
                reason = "" if ok else str(response["Entries"][0].get("ErrorMessage"))
            except Exception as exc:  # noqa: BLE001
                ok, reason = False, f"{type(exc).__name__}: {exc}"
            if ok:
                parked.delete()
                sent += 1
            else:
                parked.update(
                    actions=[EventOutboxModel.attempts.add(1), EventOutboxModel.last_error.set(reason[:1000])]
                )
                failed += 1
        return {"sent": sent, "failed": failed}


class RecordingPublisher:
    """In-memory publisher for unit tests: keeps what was published, in order."""

    def __init__(self) -> None:
        self.published: list[tuple[DomainEvent, dict[str, Any]]] = []

    def publish(self, event: DomainEvent, detail: Mapping[str, Any]) -> str:
        body = build_detail(event, detail)
        self.published.append((event, body))
        return str(body["event_id"])

    def of(self, event: DomainEvent) -> list[dict[str, Any]]:
        return [detail for name, detail in self.published if name == event]
