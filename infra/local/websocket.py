"""The local API Gateway WebSocket API: ``ws://<host>:<port>/ws/notifications`` served with the real
``ws`` function's handlers, and the API Gateway management API (``POST/GET/DELETE
/@connections/{id}``) at ``/_aws/ws-management``, so the platform's ``post_to_connection`` (boto3,
the same code as in the cloud) writes to the open socket and gets 410 ``GoneException`` for a
closed one, which moto's management API never reports.

As in API Gateway: ``$connect`` answering non-2xx refuses the handshake (HTTP 403 here); each text
frame is a ``$default`` invocation whose body is sent back (the route response); a binary frame
closes the connection with 1003 (API Gateway does not take binary frames); closing the socket
invokes ``$disconnect``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

import anyio
from agents_meetings.observability import logger
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from infra.local.functions import FunctionRegistry

WS_PATH = "/ws/notifications"
MANAGEMENT_PREFIX = "/_aws/ws-management"
CONNECTIONS = "/@connections/"
STAGE = "local"
OPEN_WAIT_SECONDS = 2.0


@dataclass
class _Connection:
    socket: WebSocket
    connected_at: datetime
    source_ip: str
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_active: datetime = field(default_factory=lambda: datetime.now(UTC))


def _gone(connection_id: str) -> Response:
    return JSONResponse(
        {"message": f"Connection {connection_id} is gone"},
        status_code=410,
        headers={"x-amzn-ErrorType": "GoneException"},
    )


class LocalWebSocketApi:
    def __init__(self, registry: FunctionRegistry, function_name: str = "ws"):
        self.registry = registry
        self.function_name = function_name
        self.connections: dict[str, _Connection] = {}

    @staticmethod
    def owns(scope: dict[str, Any]) -> bool:
        if scope["type"] == "websocket":
            return bool(scope["path"] == WS_PATH)
        return scope["type"] == "http" and str(scope["path"]).startswith(MANAGEMENT_PREFIX + "/")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await self._serve(WebSocket(scope, receive, send))
        else:
            response = await self._management(Request(scope, receive))
            await response(scope, receive, send)

    # --- the WebSocket routes ------------------------------------------------------------------

    def _event(
        self, route: str, event_type: str, connection_id: str, conn: _Connection, **extra: Any
    ) -> dict[str, Any]:
        now_ms = int(time.time() * 1000)
        return {
            "requestContext": {
                "routeKey": route,
                "eventType": event_type,
                "connectionId": connection_id,
                "messageId": secrets.token_urlsafe(8),
                "extendedRequestId": str(uuid.uuid4()),
                "requestId": str(uuid.uuid4()),
                "stage": STAGE,
                "domainName": "127.0.0.1",
                "apiId": "local",
                "connectedAt": int(conn.connected_at.timestamp() * 1000),
                "requestTimeEpoch": now_ms,
                "identity": {"sourceIp": conn.source_ip},
            },
            "isBase64Encoded": False,
            **extra,
        }

    async def _invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        result = await anyio.to_thread.run_sync(self.registry.invoke, self.function_name, event)
        return result if isinstance(result, dict) else {}

    async def _serve(self, socket: WebSocket) -> None:
        connection_id = secrets.token_urlsafe(12) + "="
        client = socket.client.host if socket.client else "127.0.0.1"
        conn = _Connection(socket=socket, connected_at=datetime.now(UTC), source_ip=client)
        self.connections[connection_id] = conn
        query = {k: v[-1] for k, v in parse_qs(socket.url.query, keep_blank_values=True).items()}
        try:
            result = await self._invoke(
                self._event("$connect", "CONNECT", connection_id, conn, queryStringParameters=query or None)
            )
        except Exception:  # noqa: BLE001 - a failing $connect refuses the connection, as API Gateway does
            result = {"statusCode": 500}
        if not 200 <= int(result.get("statusCode", 500)) < 300:
            self.connections.pop(connection_id, None)
            await socket.close(code=1008)  # before accept: the handshake is refused (HTTP 403)
            return
        await socket.accept()
        conn.opened.set()
        try:
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                conn.last_active = datetime.now(UTC)
                text = message.get("text")
                if text is None:
                    # API Gateway refuses binary frames: it closes with 1003 (unsupported data).
                    conn.closed = True
                    await socket.close(code=1003, reason="Binary frames are not supported; send JSON text.")
                    break
                reply = await self._default_route(connection_id, conn, text)
                if reply.get("body"):
                    await self._send(conn, str(reply["body"]))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            conn.closed = True
            self.connections.pop(connection_id, None)
            await self._invoke(self._event("$disconnect", "DISCONNECT", connection_id, conn))

    async def _default_route(self, connection_id: str, conn: _Connection, text: str) -> dict[str, Any]:
        """The $default route's response; a failed invocation is an error frame and the connection
        stays open, as API Gateway answers ``{"message": "Internal server error", ...}``."""
        event = self._event("$default", "MESSAGE", connection_id, conn, body=text)
        try:
            return await self._invoke(event)
        except Exception:  # noqa: BLE001 - the function failed; the client gets a frame saying so
            logger.exception("the $default route failed", extra={"connection_id": connection_id})
            frame = {
                "type": "error",
                "code": "internal_error",
                "message": "Internal server error",
                "connectionId": connection_id,
                "requestId": event["requestContext"]["requestId"],
            }
            return {"statusCode": 500, "body": json.dumps(frame)}

    @staticmethod
    async def _send(conn: _Connection, text: str) -> None:
        async with conn.lock:
            await conn.socket.send_text(text)

    # --- the management API --------------------------------------------------------------------

    async def _management(self, request: Request) -> Response:
        raw = request.scope.get("raw_path") or request.url.path.encode()
        path = raw.decode() if isinstance(raw, bytes) else str(raw)
        marker = MANAGEMENT_PREFIX + CONNECTIONS
        if not path.startswith(marker):
            return JSONResponse({"message": "Not found"}, status_code=404)
        connection_id = unquote(path[len(marker) :].split("?", 1)[0])
        conn = self.connections.get(connection_id)
        if conn is not None and not conn.opened.is_set():
            # $connect is still running: API Gateway accepts posts once the connection is open.
            try:
                await asyncio.wait_for(conn.opened.wait(), OPEN_WAIT_SECONDS)
            except TimeoutError:
                conn = None
        if conn is None or conn.closed:
            return _gone(connection_id)
        if request.method == "POST":
            data = await request.body()
            try:
                await self._send(conn, data.decode())
            except Exception:  # noqa: BLE001 - the socket closed under us: that is Gone
                return _gone(connection_id)
            return Response(status_code=200)
        if request.method == "GET":
            return JSONResponse(
                {
                    "ConnectedAt": conn.connected_at.isoformat().replace("+00:00", "Z"),
                    "LastActiveAt": conn.last_active.isoformat().replace("+00:00", "Z"),
                    "Identity": {"SourceIp": conn.source_ip, "UserAgent": ""},
                }
            )
        if request.method == "DELETE":
            conn.closed = True
            await conn.socket.close(code=1000)
            return Response(status_code=204)
        return JSONResponse({"message": "Method not allowed"}, status_code=405)
