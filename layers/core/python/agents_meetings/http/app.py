"""The FastAPI app factory every API function uses, and its Lambda handler (Mangum + Powertools)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response

from agents_meetings import __version__
from agents_meetings.http.errors import install_error_handlers
from agents_meetings.observability import logger, metrics, tracer
from agents_meetings.tables import bind_tables

API_TITLE = "Agents-Meetings API"
API_DESCRIPTION = (
    "Platform API of Agents-Meetings. Authenticate with `POST /api/v1/auth/login` and send the access "
    "token as `Authorization: Bearer <token>`. Every error has the shape "
    '`{"error": {"code", "message", "details", "request_id"}}`.'
)


def create_app(name: str, routers: Iterable[APIRouter], *, with_docs: bool = False) -> FastAPI:
    """One app per endpoint group. Only the docs function serves OpenAPI, for all groups at once."""
    bind_tables()
    app = FastAPI(
        title=API_TITLE if with_docs else f"{API_TITLE}: {name}",
        description=API_DESCRIPTION,
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json" if with_docs else None,
    )
    install_error_handlers(app)

    @app.middleware("http")
    async def _request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        event = request.scope.get("aws.event") or {}
        request_id = (event.get("requestContext") or {}).get("requestId") or request.headers.get("x-request-id")
        request.state.request_id = request_id or str(uuid.uuid4())
        response = await call_next(request)
        response.headers["X-Request-Id"] = request.state.request_id
        return response

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
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        metrics.add_metric(name="ApiRequests", unit="Count", value=1)
        response: dict[str, Any] = asgi(event, context)
        if response.get("statusCode", 200) >= 500:
            metrics.add_metric(name="ApiServerErrors", unit="Count", value=1)
        return response

    return handler  # type: ignore[no-any-return]  # Powertools' decorators are untyped
