"""The WebSocket API's routes, shaped as API Gateway WebSocket proxy events in and out.

``$connect`` redeems the single-use ticket in ``?ticket=`` (refused: 401, and API Gateway closes
the socket); ``$disconnect`` forgets the connection; ``$default`` takes JSON messages:
``{"action": "ping"}``, ``{"action": "subscribe" | "unsubscribe", "meeting_id": "..."}`` (only
meetings the user may see). The reply is the route response (``return_response``).

Messages count against the sender's rate-limit tier (spec 2.3), the same per-user budget as their
REST requests: over it, a ``rate_limited`` error frame (status 429) says which limit and when to
retry, and the message is not acted on.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pynamodb.exceptions import DoesNotExist

from agents_meetings.audit import Actor
from agents_meetings.errors import DomainError
from agents_meetings.events.publisher import EventBridgePublisher
from agents_meetings.meetings.service import MeetingService
from agents_meetings.notifications.websocket import TicketService, WebSocketManager, default_sender
from agents_meetings.observability import logger
from agents_meetings.ratelimit.rules import tier_for_role
from agents_meetings.ratelimit.service import decide_or_allow, refusal
from agents_meetings.settings import get_settings
from agents_meetings.tables import UserModel, WsConnectionModel
from agents_meetings.users.service import ensure_can_sign_in

MAX_MESSAGE_BYTES = 4096


def _reply(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "body": json.dumps(body)}


def message_text(event: dict[str, Any]) -> str | None:
    """The message's text; None when it is not UTF-8 (a base64-encoded body, as API Gateway sends
    binary payloads under CONVERT_TO_BINARY, is decoded first)."""
    body = event.get("body")
    if not isinstance(body, str):
        return None
    if not event.get("isBase64Encoded"):
        return body
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


class WebSocketRoutes:
    def __init__(
        self,
        manager: WebSocketManager | None = None,
        tickets: TicketService | None = None,
        meetings: MeetingService | None = None,
    ):
        self.manager = manager or WebSocketManager(default_sender())
        self.tickets = tickets or TicketService()
        # Only reads meetings (who may see which); its publisher is the platform's, never a double.
        self.meetings = meetings or MeetingService(EventBridgePublisher())

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        context = event.get("requestContext") or {}
        route = context.get("routeKey")
        connection_id = str(context.get("connectionId") or "")
        if not connection_id:
            return _reply(400, {"error": "no connection id"})
        if route == "$connect":
            return self.on_connect(connection_id, event.get("queryStringParameters") or {})
        if route == "$disconnect":
            self.manager.disconnect(None, connection_id)
            return _reply(200, {"type": "bye"})
        return self.on_message(connection_id, message_text(event))

    def on_connect(self, connection_id: str, query: dict[str, str]) -> dict[str, Any]:
        try:
            user_id = self.tickets.redeem(query.get("ticket"))
            user = UserModel.get(user_id)
            ensure_can_sign_in(user)
        except (DomainError, DoesNotExist) as exc:
            logger.info("websocket connection refused", extra={"reason": getattr(exc, "code", "unknown_user")})
            return _reply(401, {"error": getattr(exc, "code", "invalid_ticket")})
        self.manager.connect(user_id, connection_id, role=user.role)
        return _reply(200, {"type": "connected"})

    def on_message(self, connection_id: str, body: str | None) -> dict[str, Any]:
        connection = self.manager.connection(connection_id)
        if connection is None:
            return _reply(410, {"type": "error", "code": "not_connected"})
        limited = self._rate_limited(connection)
        if limited is not None:
            return limited
        if not body or len(body.encode()) > MAX_MESSAGE_BYTES:
            return _reply(400, {"type": "error", "code": "invalid_message", "message": "Send a JSON object."})
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
            message = None
        if not isinstance(message, dict):
            return _reply(400, {"type": "error", "code": "invalid_message", "message": "Send a JSON object."})
        action = message.get("action")
        if action == "ping":
            return _reply(200, {"type": "pong"})
        if action in ("subscribe", "unsubscribe"):
            meeting_id = message.get("meeting_id")
            if not isinstance(meeting_id, str) or not 0 < len(meeting_id) <= 64:
                return _reply(400, {"type": "error", "code": "invalid_meeting_id"})
            if action == "unsubscribe":
                self.manager.unsubscribe(connection, meeting_id)
                return _reply(200, {"type": "unsubscribed", "meeting_id": meeting_id})
            try:
                user = UserModel.get(connection.user_id)
                self.meetings.get_visible(Actor(user.id, user.role), meeting_id)
            except (DomainError, DoesNotExist):
                return _reply(404, {"type": "error", "code": "meeting_not_found", "meeting_id": meeting_id})
            self.manager.subscribe(connection, meeting_id)
            return _reply(200, {"type": "subscribed", "meeting_id": meeting_id})
        return _reply(
            400, {"type": "error", "code": "unknown_action", "message": "Actions: ping, subscribe, unsubscribe."}
        )

    def _rate_limited(self, connection: WsConnectionModel) -> dict[str, Any] | None:
        """The 429 reply when the sender is over their tier's limit, else None (fail open)."""
        settings = get_settings()
        if not settings.rate_limit_enabled:
            return None
        tier = tier_for_role(connection.role or "")
        decision = decide_or_allow(
            f"user:{connection.user_id}", tier, storage=settings.rate_limit_storage, what="message"
        )
        if decision is None or decision.allowed:  # None: never refuse a message because the limiter failed
            return None
        message, details = refusal(decision, "messages")
        return _reply(429, {"type": "error", "code": "rate_limited", "message": message, **details})
