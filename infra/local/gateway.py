"""The local API Gateway: HTTP in, an API Gateway REST proxy event to the owning function, HTTP out.

As API Gateway does, it refuses what no function should see, in the platform's error shape: a
request line over 8,192 bytes (414), request line and headers over 10,240 bytes (431), a WebSocket
upgrade to a path the WebSocket API does not serve (404, the handshake refused). A body that is not
valid UTF-8 reaches the function base64-encoded (``isBase64Encoded``), never decoded here.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from infra.catalog import api_functions
from infra.local.functions import FunctionRegistry

STAGE = "local"
# Lambda runs each concurrent request in its own container; here each is a worker thread. Waiting
# requests (SSE long-polls hold theirs up to 20 s) must not exhaust the pool and stall everyone
# else, as anyio's default limiter of 40 threads did: the gateway has its own, much larger one.
INVOCATION_THREADS = 512
_TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")
# API Gateway's quotas: the URL (request line) and the request line with all header values.
MAX_REQUEST_LINE_BYTES = 8192
MAX_REQUEST_HEAD_BYTES = 10240


def error_body(code: str, message: str, request_id: str | None = None) -> dict[str, Any]:
    """The platform's error shape, for answers the gateway gives without invoking a function."""
    return {"error": {"code": code, "message": message, "details": {}, "request_id": request_id or str(uuid.uuid4())}}


def gateway_error(status: int, code: str, message: str) -> JSONResponse:
    body = error_body(code, message)
    return JSONResponse(body, status_code=status, headers={"X-Request-Id": body["error"]["request_id"]})


def oversized(scope: dict[str, Any]) -> Response | None:
    """414 or 431 in the error shape when the request exceeds API Gateway's size quotas, else None."""
    raw_path = scope.get("raw_path") or str(scope.get("path", "")).encode()
    query = scope.get("query_string") or b""
    request_line = len(scope.get("method", "")) + len(raw_path) + (len(query) + 1 if query else 0) + 10
    if request_line > MAX_REQUEST_LINE_BYTES:
        return gateway_error(
            414, "uri_too_long", f"The request URL is over {MAX_REQUEST_LINE_BYTES} bytes; send less in the query."
        )
    head = request_line + sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))
    if head > MAX_REQUEST_HEAD_BYTES:
        return gateway_error(
            431,
            "request_headers_too_large",
            f"The request line and headers are over {MAX_REQUEST_HEAD_BYTES} bytes (an oversized token or cookie?).",
        )
    return None


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def route_table() -> list[tuple[str, str]]:
    """(prefix, function name), longest prefix first, as API Gateway picks the most specific resource."""
    routes = [(prefix, decl.name) for decl in api_functions() for prefix in decl.routes]
    return sorted(routes, key=lambda route: len(route[0]), reverse=True)


def match(path: str, routes: list[tuple[str, str]]) -> tuple[str, str] | None:
    for prefix, function_name in routes:
        if path == prefix or path.startswith(prefix + "/"):
            return prefix, function_name
    return None


def build_event(request: Request, body: bytes, prefix: str) -> dict[str, Any]:
    path = request.url.path
    is_text = any(request.headers.get("content-type", "").startswith(t) for t in _TEXT_TYPES) or not body
    # Bytes that are not UTF-8 cannot travel as text: they go base64-encoded, as binary bodies do.
    is_text = is_text and _is_utf8(body)
    query = parse_qs(request.url.query, keep_blank_values=True)
    multi_headers: dict[str, list[str]] = {}
    for key, value in request.headers.items():
        multi_headers.setdefault(key, []).append(value)
    proxy = path[len(prefix) :].lstrip("/")
    resource = f"{prefix}/{{proxy+}}" if proxy else prefix
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        "headers": {k: v[-1] for k, v in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": proxy} if proxy else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": request.method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": request.scope.get("http_version", "1.1"),
            "identity": {
                "sourceIp": request.client.host if request.client else "127.0.0.1",
                "userAgent": request.headers.get("user-agent"),
            },
        },
        "body": (body.decode() if is_text else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": bool(body) and not is_text,
    }


def to_response(result: dict[str, Any]) -> Response:
    body = result.get("body") or ""
    content = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(content=content, status_code=int(result.get("statusCode", 200)))
    for key, value in (result.get("headers") or {}).items():
        response.headers[key] = str(value)
    for key, values in (result.get("multiValueHeaders") or {}).items():
        del response.headers[key]
        for value in values:
            response.headers.append(key, str(value))
    return response


class LocalApiGateway:
    """ASGI app: every request goes to the function whose declared prefix owns the path."""

    def __init__(self, registry: FunctionRegistry, websockets: Any = None, storage: Any = None, metrics: Any = None):
        self.registry = registry
        self.routes = route_table()
        # infra.local.websocket.LocalWebSocketApi: the WebSocket API and its management endpoint.
        self.websockets = websockets
        # infra.local.storage_server.LocalStorageServer: signed URLs of STORAGE_BACKEND=local.
        self.storage = storage
        # infra.local.metrics.MetricsCollector: GET /metrics, the functions' EMF in Prometheus text.
        self.metrics = metrics
        self._invocations: anyio.CapacityLimiter | None = None  # made on the serving event loop

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if self.websockets is not None and self.websockets.owns(scope):
            await self.websockets(scope, receive, send)
            return
        if self.storage is not None and self.storage.owns(scope):
            await self.storage(scope, receive, send)
            return
        if self.metrics is not None and self.metrics.owns(scope):
            await self.metrics(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await refuse_websocket(scope, receive, send)
            return
        request = Request(scope, receive)
        response = oversized(scope) or await self._route(request)
        await response(scope, receive, send)

    async def _route(self, request: Request) -> Response:
        owner = match(request.url.path, self.routes)
        if owner is None:
            return gateway_error(404, "route_not_found", f"No route for {request.method} {request.url.path}.")
        prefix, function_name = owner
        event = build_event(request, await request.body(), prefix)
        if self._invocations is None:
            self._invocations = anyio.CapacityLimiter(INVOCATION_THREADS)
        result = await anyio.to_thread.run_sync(self.registry.invoke, function_name, event, limiter=self._invocations)
        return to_response(result)


async def refuse_websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Refuse the handshake of a WebSocket upgrade to a path no WebSocket API serves: a 404 in the
    error shape where the server can answer the upgrade with HTTP, else a close (HTTP 403)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" in (scope.get("extensions") or {}):
        body = json.dumps(error_body("route_not_found", f"No WebSocket API at {scope.get('path')}.")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "websocket.http.response.start", "status": 404, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body, "more_body": False})
    else:
        await send({"type": "websocket.close", "code": 1008})
