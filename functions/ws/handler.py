"""Lambda: the API Gateway WebSocket routes ($connect, $disconnect, $default) of /ws/notifications."""

from typing import Any

from agents_meetings.notifications.ws_routes import WebSocketRoutes
from agents_meetings.observability import observed
from agents_meetings.tables import bind_tables

bind_tables()
routes = WebSocketRoutes()


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return routes.handle(event)
