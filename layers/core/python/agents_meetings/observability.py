"""Powertools Logger, Tracer and Metrics shared by every function (service name from the env).

``observed`` wraps a non-HTTP handler in all three (the API functions use ``http.app.lambda_handler``).

When tracing is off (local runtime, tests) the X-Ray SDK is never imported: Powertools' Tracer
builds a botocore session and X-Ray client at construction, a few hundred milliseconds of cold
start for nothing. ``DisabledTracer`` offers the same decorators and does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger, Metrics

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


def observed(handler: Handler) -> Handler:
    """JSON logs with the Lambda context, a trace, and the metrics flushed once per invocation."""
    wrapped: Handler = logger.inject_lambda_context(tracer.capture_lambda_handler(metrics.log_metrics(handler)))
    return wrapped
