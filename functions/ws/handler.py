"""Lambda: the API Gateway WebSocket routes ($connect, $disconnect, $default) of /ws/notifications."""

from typing import Any

from agents_meetings.notifications.ws_routes import WebSocketRoutes
from agents_meetings.observability import logger, metrics, tracer
from agents_meetings.tables import bind_tables

bind_tables()
routes = WebSocketRoutes()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return routes.handle(event)
