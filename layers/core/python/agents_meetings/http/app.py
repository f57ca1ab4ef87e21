"""The FastAPI app factory every API function uses, and its Lambda handler (Mangum + Powertools)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agents_meetings import __version__
from agents_meetings.cache import cache_service
from agents_meetings.http.errors import install_error_handlers
from agents_meetings.http.etags import ETagMiddleware
from agents_meetings.http.methods import MethodNotAllowedMiddleware
from agents_meetings.http.origin import client_ip
from agents_meetings.http.rate_limits import RateLimitMiddleware
from agents_meetings.http.security_headers import SecurityHeadersMiddleware
from agents_meetings.observability import emit_dimensioned, logger, metrics, set_correlation_id, tracer
from agents_meetings.persistence import bind_storage
from agents_meetings.request_context import RequestOrigin, current_origin

API_TITLE = "Agents-Meetings API"
API_DESCRIPTION = (
    "Platform API of Agents-Meetings. Authenticate with `POST /api/v1/auth/login` and send the access "
    "token as `Authorization: Bearer <token>`. Every error has the shape "
    '`{"error": {"code", "message", "details", "request_id"}}`.'
)


# The handler's own dict, filled by RequestIdMiddleware with the route template FastAPI matched
# (the ASGI app runs in a task with a copy of the context: the dict is shared, a new value is not).
matched_route: ContextVar[dict[str, str] | None] = ContextVar("matched_route", default=None)


class RequestIdMiddleware:
    """Give each request an id (API Gateway's, else X-Request-Id, else new) and echo it in a header.

    Plain ASGI rather than ``@app.middleware("http")``, which costs a task and a stream per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        event = scope.get("aws.event") or {}
        request_id = (event.get("requestContext") or {}).get("requestId")
        if not request_id:
            request_id = Headers(scope=scope).get("x-request-id") or str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        # The request id is the correlation id of everything this request logs and causes.
        set_correlation_id(request_id)
        current_origin.set(RequestOrigin(ip=client_ip(scope), user_agent=Headers(scope=scope).get("user-agent")))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # This request's cache metrics (one EMF document per key prefix), counts shared now and then.
            cache_service().flush_stats()
        holder, route = matched_route.get(), scope.get("route")
        if holder is not None and getattr(route, "path", None):
            holder["route"] = str(route.path)  # type: ignore[union-attr]


def create_app(name: str, routers: Iterable[APIRouter], *, with_docs: bool = False) -> FastAPI:
    """One app per endpoint group. Only the docs function serves OpenAPI, for all groups at once."""
    bind_storage()
    app = FastAPI(
        title=API_TITLE if with_docs else f"{API_TITLE}: {name}",
        description=API_DESCRIPTION,
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json" if with_docs else None,
    )
    install_error_handlers(app)

    # Innermost: a wrong method is a 405 listing the path's methods, before any route runs.
    app.add_middleware(MethodNotAllowedMiddleware)
    # ETag and 304 Not Modified on conditional GETs (http/etags.py).
    app.add_middleware(ETagMiddleware)
    # Added first, so it runs inside RequestIdMiddleware: a 429 carries the request id.
    app.add_middleware(RateLimitMiddleware)
    app.add_middleware(RequestIdMiddleware)
    # Outermost of ours: every response gets them, 429s included (500s: see error_response).
    app.add_middleware(SecurityHeadersMiddleware)
    for router in routers:
        app.include_router(router)
    return app


def lambda_handler(app: FastAPI) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Wrap an app as a Lambda handler: JSON logs keyed by the API Gateway request id, traces, metrics."""
    from aws_lambda_powertools.logging import correlation_paths
    from mangum import Mangum

    # lifespan="off": Mangum would otherwise run the ASGI lifespan on every invocation.
    asgi = Mangum(app, lifespan="off")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @tracer.capture_lambda_handler(capture_response=False)  # type: ignore[untyped-decorator]
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        set_correlation_id((event.get("requestContext") or {}).get("requestId"))
        metrics.add_metric(name="ApiRequests", unit="Count", value=1)
        started = time.perf_counter()
        holder: dict[str, str] = {}
        matched_route.set(holder)
        response: dict[str, Any] = asgi(event, context)
        latency_ms = (time.perf_counter() - started) * 1000
        status = int(response.get("statusCode", 200))
        if status >= 500:
            metrics.add_metric(name="ApiServerErrors", unit="Count", value=1)
        route = f"{event.get('httpMethod')} {holder.get('route') or event.get('resource') or 'unmatched'}"
        # Per route: latency percentiles, and (its count by status class) request and error rates.
        emit_dimensioned(
            {"ApiLatency": ("Milliseconds", latency_ms)}, {"route": route, "status_class": f"{status // 100}xx"}
        )
        # One access line per request: the first line of a request's path in a correlation query.
        logger.info(
            "request",
            extra={
                "method": event.get("httpMethod"),
                "path": event.get("path"),
                "route": route,
                "status": status,
                "latency_ms": round(latency_ms, 1),
            },
        )
        return response

    return handler  # type: ignore[no-any-return]  # Powertools' decorators are untyped
