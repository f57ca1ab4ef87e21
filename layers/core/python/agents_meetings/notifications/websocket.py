"""Real-time delivery over the API Gateway WebSocket API.

``ConnectionSender`` is the port: the cloud implementation posts through the API Gateway management
API (``post_to_connection``); the local runtime serves the same API on its own port. A connection
that is gone (410 ``GoneException``) is removed at once, never retried. ``TicketService`` issues
the short-lived single-use tickets ``$connect`` takes (browsers cannot send headers on a WebSocket,
and long-lived tokens must not go into URLs).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from pynamodb.exceptions import DeleteError, DoesNotExist

from agents_meetings.aws_clients import aws_client
from agents_meetings.clock import utcnow
from agents_meetings.errors import Unauthenticated
from agents_meetings.observability import logger, metrics
from agents_meetings.presence.service import websocket_closed, websocket_opened
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import WsConnectionModel, WsSubscriptionModel, WsTicketModel


class ConnectionGone(Exception):
    """The client is no longer connected (API Gateway answers 410 GoneException)."""


class ConnectionSender(Protocol):
    def post(self, connection_id: str, data: bytes) -> None:
        """Send one frame; raises ConnectionGone when the connection no longer exists."""
        ...

    def close(self, connection_id: str) -> None: ...


# Short timeouts: one slow connection must not hold up a fan-out for long.
MANAGEMENT_CLIENT_CONFIG = {"retries": {"max_attempts": 2, "mode": "standard"}, "connect_timeout": 2, "read_timeout": 3}


class ApiGatewayManagementSender:
    """``post_to_connection`` / ``delete_connection`` on the stage's management endpoint."""

    def __init__(self, endpoint_url: str | None = None, settings: Settings | None = None, client: Any = None):
        settings = settings or get_settings()
        url = endpoint_url or settings.websocket_management_url
        if client is None and not url:
            raise RuntimeError("WEBSOCKET_MANAGEMENT_URL is not set")
        self._client = client or aws_client(
            "apigatewaymanagementapi", settings=settings, endpoint_url=str(url), config=MANAGEMENT_CLIENT_CONFIG
        )

    def post(self, connection_id: str, data: bytes) -> None:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self._client.exceptions.GoneException as exc:
            raise ConnectionGone(connection_id) from exc

    def close(self, connection_id: str) -> None:
        try:
            self._client.delete_connection(ConnectionId=connection_id)
        except self._client.exceptions.GoneException:
            return


def default_sender() -> ConnectionSender | None:
    """The configured sender, or None where no WebSocket API exists (then only SSE/polling deliver)."""
    return ApiGatewayManagementSender() if get_settings().websocket_management_url else None


def frame(kind: str, payload: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, **payload}, separators=(",", ":"), default=str).encode()


@dataclass(frozen=True)
class BroadcastResult:
    sent: int
    gone: int
    failed: int


class WebSocketManager:
    """Spec 1.2's WebSocketManager: connections in ``ws-connections``, meeting subscriptions in
    ``ws-subscriptions``; frames go out through the sender."""

    def __init__(self, sender: ConnectionSender | None, settings: Settings | None = None):
        self._sender = sender
        self._settings = settings or get_settings()

    @property
    def enabled(self) -> bool:
        return self._sender is not None

    def connect(self, user_id: str, connection: str, role: str | None = None) -> WsConnectionModel:
        now = utcnow()
        item = WsConnectionModel(
            connection_id=connection,
            user_id=user_id,
            role=role,
            connected_at=now,
            expires_at=now + timedelta(hours=self._settings.ws_connection_ttl_hours),
        )
        item.save()
        websocket_opened(user_id, item.expires_at)
        metrics.add_metric(name="WebSocketConnected", unit="Count", value=1)
        return item

    def disconnect(self, user_id: str | None, connection: str) -> None:
        """Forget the connection and its meeting subscriptions (idempotent)."""
        try:
            item = WsConnectionModel.get(connection, consistent_read=True)
        except DoesNotExist:
            return
        if user_id is not None and item.user_id != user_id:
            return
        for meeting_id in item.meetings or set():
            WsSubscriptionModel(meeting_id=meeting_id, connection_id=connection).delete()
        try:
            item.delete(condition=WsConnectionModel.connection_id.exists())
        except DeleteError:
            logger.warning("connection already removed", extra={"connection_id": connection})
            return
        websocket_closed(item.user_id)

    def connection(self, connection: str) -> WsConnectionModel | None:
        try:
            item = WsConnectionModel.get(connection, consistent_read=True)
        except DoesNotExist:
            return None
        return item if item.expires_at > utcnow() else None

    def subscribe(self, connection: WsConnectionModel, meeting_id: str) -> None:
        WsSubscriptionModel(
            meeting_id=meeting_id,
            connection_id=connection.connection_id,
            user_id=connection.user_id,
            expires_at=connection.expires_at,
        ).save()
        connection.update(actions=[WsConnectionModel.meetings.add({meeting_id})])

    def unsubscribe(self, connection: WsConnectionModel, meeting_id: str) -> None:
        WsSubscriptionModel(meeting_id=meeting_id, connection_id=connection.connection_id).delete()
        connection.update(actions=[WsConnectionModel.meetings.delete({meeting_id})])

    def connections_of(self, user_id: str) -> list[str]:
        now = utcnow()
        return [c.connection_id for c in WsConnectionModel.by_user.query(user_id) if c.expires_at > now]

    def broadcast_to_user(self, user_id: str, notification: dict[str, Any]) -> BroadcastResult:
        return self.send_frame(self.connections_of(user_id), frame("notification", {"notification": notification}))

    def broadcast_to_meeting(self, meeting_id: str, notification: dict[str, Any]) -> BroadcastResult:
        now = utcnow()
        connections = [s.connection_id for s in WsSubscriptionModel.query(meeting_id) if s.expires_at > now]
        payload = frame("meeting", {"meeting_id": meeting_id, "notification": notification})
        return self.send_frame(connections, payload)

    def send_frame(self, connections: list[str], data: bytes) -> BroadcastResult:
        if self._sender is None or not connections:
            return BroadcastResult(0, 0, 0)
        sent = gone = failed = 0
        for connection_id in connections:
            try:
                self._sender.post(connection_id, data)
                sent += 1
            except ConnectionGone:
                gone += 1
                self.disconnect(None, connection_id)
            except Exception:  # noqa: BLE001 - one broken connection must not stop the others
                failed += 1
                logger.exception("websocket post failed", extra={"connection_id": connection_id})
        if gone:
            metrics.add_metric(name="WebSocketGoneRemoved", unit="Count", value=gone)
        return BroadcastResult(sent, gone, failed)

    def all_connections(self) -> dict[str, list[str]]:
        """Every live connection by user (a broadcast to thousands of users scans once instead of
        querying once per user)."""
        now = utcnow()
        found: dict[str, list[str]] = {}
        for item in WsConnectionModel.scan():
            if item.expires_at > now:
                found.setdefault(item.user_id, []).append(item.connection_id)
        return found


def _ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class TicketService:
    def __init__(self, settings: Settings | None = None):
        self._settings = settings or get_settings()

    def issue(self, user_id: str) -> tuple[str, int]:
        ticket = secrets.token_urlsafe(32)
        now = utcnow()
        ttl = self._settings.ws_ticket_ttl_seconds
        WsTicketModel(
            ticket_hash=_ticket_hash(ticket), user_id=user_id, created_at=now, expires_at=now + timedelta(seconds=ttl)
        ).save(condition=WsTicketModel.ticket_hash.does_not_exist())
        return ticket, ttl

    def redeem(self, ticket: str | None) -> str:
        """The ticket's user; the ticket is deleted in the same conditional write (single use)."""
        if not ticket or len(ticket) > 200:
            raise Unauthenticated(
                "A ticket from POST /api/v1/notifications/ws-ticket is required.", code="ticket_required"
            )
        try:
            # Deleting only if it still exists makes a second use fail even when two race.
            old = WsTicketModel._get_connection().delete_item(
                _ticket_hash(ticket), condition=WsTicketModel.ticket_hash.exists(), return_values="ALL_OLD"
            )
        except DeleteError as exc:
            raise Unauthenticated("The ticket is not valid or was already used.", code="invalid_ticket") from exc
        attributes = (old or {}).get("Attributes") or {}
        user_id = (attributes.get("user_id") or {}).get("S")
        expires = (attributes.get("expires_at") or {}).get("N")
        if not user_id or expires is None or float(expires) <= utcnow().timestamp():
            raise Unauthenticated("The ticket has expired.", code="invalid_ticket")
        return str(user_id)
