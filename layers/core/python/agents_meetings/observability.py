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
import time
import uuid
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from agents_meetings.settings import get_settings

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


# --- data-store calls: the slow-operation log (spec 2.2) and call observers ---------------------

# (store, operation, target, seconds): store "dynamodb" | "redis"; target a table or a key prefix.
StoreCallObserver = Callable[[str, str, str, float], None]
_store_call_observers: list[StoreCallObserver] = []
_CALL_STARTED = "agents_meetings_started"


def observe_store_calls(observer: StoreCallObserver) -> Callable[[], None]:
    """Call ``observer`` after every DynamoDB and Redis call (the N+1 tests count with it); returns
    the function that removes it."""
    _store_call_observers.append(observer)
    return lambda: _store_call_observers.remove(observer)


def slow_query_threshold_ms() -> float:
    return get_settings().slow_query_ms


def record_store_call(store: str, operation: str, target: str, seconds: float) -> None:
    """One DynamoDB or Redis call done: a slow one (over ``SLOW_QUERY_MS``) is logged with its
    operation, table or key prefix and latency, and counted (``SlowStoreOperation`` by store)."""
    for observer in tuple(_store_call_observers):
        observer(store, operation, target, seconds)
    milliseconds = seconds * 1000.0
    if milliseconds <= slow_query_threshold_ms():
        return
    logger.warning(
        "slow data-store operation",
        extra={"store": store, "operation": operation, "target": target, "latency_ms": round(milliseconds, 2)},
    )
    emit_dimensioned(
        {"SlowStoreOperation": ("Count", 1), "SlowStoreOperationLatency": ("Milliseconds", milliseconds)},
        {"store": store},
        {"operation": operation, "target": target},
    )


def _dynamodb_target(params: Mapping[str, Any]) -> str:
    if "TableName" in params:
        return str(params["TableName"])
    if "RequestItems" in params:  # BatchGetItem, BatchWriteItem
        return ",".join(sorted(params["RequestItems"]))
    names = set()
    for item in params.get("TransactItems") or ():  # TransactGetItems, TransactWriteItems
        for request in item.values():
            if isinstance(request, Mapping) and "TableName" in request:
                names.add(str(request["TableName"]))
    return ",".join(sorted(names))


def _dynamodb_call_started(context: dict[str, Any] | None = None, **_: Any) -> None:
    if context is not None:
        context[_CALL_STARTED] = time.perf_counter()


def _dynamodb_call_finished(
    model: Any = None, params: Mapping[str, Any] | None = None, context: dict[str, Any] | None = None, **_: Any
) -> None:
    started = (context or {}).pop(_CALL_STARTED, None)
    if started is None or model is None:
        return
    record_store_call("dynamodb", str(model.name), _dynamodb_target(params or {}), time.perf_counter() - started)


def _dynamodb_params_seen(
    params: dict[str, Any], model: Any = None, context: dict[str, Any] | None = None, **_: Any
) -> None:
    # before-call does not carry the API parameters; keep them for after-call.
    if context is not None:
        context["agents_meetings_params"] = params


def _dynamodb_after_call(context: dict[str, Any] | None = None, model: Any = None, **_: Any) -> None:
    _dynamodb_call_finished(model=model, params=(context or {}).get("agents_meetings_params"), context=context)


_DYNAMODB_HANDLERS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("provide-client-params.dynamodb", _dynamodb_params_seen),
    ("before-call.dynamodb", _dynamodb_call_started),
    ("after-call.dynamodb", _dynamodb_after_call),
    ("after-call-error.dynamodb", _dynamodb_after_call),
)


def instrument_dynamodb_calls() -> None:
    """Time every DynamoDB call of every botocore session made from now on (pynamodb makes one per
    thread, boto3 one per process): botocore registers ``BUILTIN_HANDLERS`` on each new session, so
    the hooks go there once, and onto the sessions that exist already (boto3's default)."""
    from botocore import handlers

    for entry in _DYNAMODB_HANDLERS:
        if entry not in handlers.BUILTIN_HANDLERS:
            handlers.BUILTIN_HANDLERS.append(entry)


instrument_dynamodb_calls()
