"""The SQS worker handler factory: Powertools' batch processor (partial failures) and, optionally,
idempotency keyed on the event id. HTTP functions use ``http.app.lambda_handler`` instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from agents_meetings.observability import (
    CORRELATION_ID,
    TRACE_HEADER,
    Handler,
    adopt_correlation,
    event_correlation,
    observed,
)
from agents_meetings.settings import Settings, get_settings

# How long a processed event id is remembered (longer than any SQS retention plus redrive).
IDEMPOTENCY_SECONDS = 7 * 24 * 3600


def sqs_batch_handler(
    record_handler: Callable[[SQSRecord], None], *, before: Callable[[Any], None] | None = None
) -> Handler:
    """An observed SQS handler that reports only the failed records back to the queue."""
    processor = BatchProcessor(event_type=EventType.SQS)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if before is not None:
            before(context)
        return process_partial_response(  # type: ignore[return-value]  # a TypedDict of the same shape
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return observed(handler)


def adopt_message_correlation(record: SQSRecord) -> str:
    """Before handling a message the platform sent itself: its ``correlation_id`` attribute (else its
    message id), and the sender's trace (the attribute, else SQS's ``AWSTraceHeader``)."""
    attributes = record.get("messageAttributes") or {}

    def value(name: str) -> str | None:
        found = attributes.get(name) or {}
        return found.get("stringValue") if isinstance(found, dict) else None

    return adopt_correlation(
        {
            CORRELATION_ID: value(CORRELATION_ID),
            TRACE_HEADER: value(TRACE_HEADER) or record.attributes.aws_trace_header,
        },
        fallback=record.message_id,
    )


def event_fields(event: dict[str, Any]) -> dict[str, Any]:
    """The log fields that name an EventBridge event."""
    return {"event_id": event.get("id"), "detail_type": event.get("detail-type")}


def sqs_worker(
    apply: Callable[[dict[str, Any]], Any],
    *,
    report: Callable[[dict[str, Any], Any], None],
    idempotent: bool = True,
    settings: Settings | None = None,
) -> Handler:
    """A handler for a queue of EventBridge events: ``apply(event)`` per record, then ``report``.

    With ``idempotent``, ``apply`` runs once per event id (Powertools idempotency in the
    ``idempotency`` table); a redelivered event gets the stored result, and is reported again.
    ``apply`` itself is decorated, so its idempotency key keeps the function's own name.
    """
    once: Callable[..., Any] = apply
    before: Callable[[Any], None] | None = None
    if idempotent:
        settings = settings or get_settings()
        config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=IDEMPOTENCY_SECONDS)
        persistence = DynamoDBPersistenceLayer(table_name=settings.table_name("idempotency"))
        once = idempotent_function(apply, data_keyword_argument="event", persistence_store=persistence, config=config)
        before = config.register_lambda_context

    def record_handler(record: SQSRecord) -> None:
        event = record.json_body
        event_correlation(event)
        report(event, once(event=event))

    return sqs_batch_handler(record_handler, before=before)
