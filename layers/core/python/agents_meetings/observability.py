"""Powertools Logger, Tracer and Metrics shared by every function (service name from the env).

``observed`` wraps a non-HTTP handler in all three (the API functions use ``http.app.lambda_handler``).

One correlation id follows a request everywhere it leads: the API's request id is the Logger's
``correlation_id``; the events publisher writes it into each event's ``detail.metadata``, the email
queue into a message attribute, and every worker adopts it from what it handles before it works
(``set_correlation_id``). So one Logs Insights query on ``correlation_id`` finds a request's path.

When tracing is off (local runtime, tests) the X-Ray SDK is never imported: Powertools' Tracer
builds a botocore session and X-Ray client at construction, a few hundred milliseconds of cold
start for nothing. ``DisabledTracer`` offers the same decorators and does nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

Handler = Callable[[dict[str, Any], Any], Any]

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AgentsMeetings")


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in ("1", "true", "yes")


class DisabledTracer:
    """The subset of Powertools' Tracer API the platform uses, as no-ops."""

    def capture_lambda_handler(self, lambda_handler: Callable[..., Any] | None = None, **_: Any) -> Any:
        if lambda_handler is None:
            return partial(self.capture_lambda_handler, **_)
        return lambda_handler

    def capture_method(self, method: Callable[..., Any] | None = None, **_: Any) -> Any:
        if method is None:
            return partial(self.capture_method, **_)
        return method

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        return None


def _tracer() -> Any:
    if not tracing_enabled():
        return DisabledTracer()
    from aws_lambda_powertools import Tracer

    return Tracer()


logger = Logger(log_uncaught_exceptions=True)
tracer: Any = _tracer()
metrics = Metrics()


# The log key, the event metadata key and the SQS message attribute that carry the id.
CORRELATION_ID = "correlation_id"
TRACE_HEADER = "trace_header"
# Where Lambda puts the X-Ray trace header of the current invocation (active tracing).
TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"


def set_correlation_id(value: str | None) -> None:
    """Make ``value`` the correlation id of every log line from here on in this invocation.

    Both the Logger's own key (what Powertools' ``correlation_id_path`` sets) and its context-local
    key, which wins over it: the local runtime runs many invocations at once on threads of one
    process, and each must log its own id.
    """
    logger.set_correlation_id(value)
    logger.thread_safe_append_keys(correlation_id=value)


def correlation_id() -> str | None:
    value = logger.thread_safe_get_current_keys().get(CORRELATION_ID) or logger.get_correlation_id()
    return str(value) if value else None


def trace_header() -> str | None:
    """The X-Ray trace header of this invocation (``Root=...;Parent=...;Sampled=...``), if traced."""
    return os.environ.get(TRACE_HEADER_ENV) or None


def trace_root(header: str | None) -> str | None:
    """The trace id (``Root=``) of an X-Ray trace header."""
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "Root" and value:
            return value
    return None


def correlation_metadata(fallback: str | None = None) -> dict[str, str]:
    """What travels with a message this invocation sends: its correlation id (the current one, else
    ``fallback``, else a new one: the message then starts a path of its own) and trace header."""
    metadata = {CORRELATION_ID: correlation_id() or fallback or str(uuid.uuid4())}
    header = trace_header()
    if header:
        metadata[TRACE_HEADER] = header
    return metadata


def adopt_correlation(metadata: Mapping[str, Any] | None, fallback: str | None = None) -> str:
    """Before handling a message: log with the correlation id it carries (else ``fallback``, else a new
    one), and note the sender's X-Ray trace, which Lambda's SQS event source does not continue."""
    metadata = metadata or {}
    value = str(metadata.get(CORRELATION_ID) or fallback or uuid.uuid4())
    set_correlation_id(value)
    origin = trace_root(str(metadata.get(TRACE_HEADER) or "")) or None
    logger.thread_safe_append_keys(origin_trace_id=origin)
    if origin:
        tracer.put_annotation("origin_trace_id", origin)
    return value


def event_correlation(event: Mapping[str, Any]) -> str:
    """Adopt the correlation of an EventBridge event: its ``detail.metadata``, else its own id."""
    detail = event.get("detail")
    metadata = detail.get("metadata") if isinstance(detail, Mapping) else None
    return adopt_correlation(metadata if isinstance(metadata, Mapping) else None, fallback=event.get("id"))


def emit_dimensioned(
    values: Mapping[str, tuple[str, float]],
    dimensions: Mapping[str, str],
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Metrics whose dimensions differ from the invocation's (``metrics`` has only ``service``), or
    that carry the ids of one event: one EMF document of their own, now. ``values``: name -> (unit,
    value); at most two dimensions here, so three with ``service``. ``metadata`` (ids: a meeting, a
    recording) lands in the document, searchable in Logs Insights, never a dimension."""
    if len(dimensions) > 2:
        raise ValueError("at most three dimensions per metric, service included")
    document = AmazonCloudWatchEMFProvider()
    for name, value in dimensions.items():
        document.add_dimension(name=name, value=value)
    for key, item in (metadata or {}).items():
        if item is not None:
            document.add_metadata(key=key, value=item)
    for name, (unit, amount) in values.items():
        document.add_metric(name=name, unit=unit, value=amount)
    document.flush_metrics()


def observed(handler: Handler) -> Handler:
    """JSON logs with the Lambda context, a trace, and the metrics flushed once per invocation.

    The invocation's correlation id: the event's (an EventBridge event's metadata, a scheduled
    event's id), else the Lambda request id.
    """

    def correlated(event: dict[str, Any], context: Any) -> Any:
        fallback = event.get("id") if isinstance(event, dict) else None
        if isinstance(event, dict) and isinstance(event.get("detail"), Mapping):
            event_correlation(event)
        else:
            adopt_correlation(None, fallback=fallback or getattr(context, "aws_request_id", None))
        return handler(event, context)

    wrapped: Handler = logger.inject_lambda_context(tracer.capture_lambda_handler(metrics.log_metrics(correlated)))
    return wrapped
