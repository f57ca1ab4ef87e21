"""The local API Gateway: HTTP in, an API Gateway REST proxy event to the owning function, HTTP out."""

from __future__ import annotations

import base64
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

    def __init__(self, registry: FunctionRegistry, websockets: Any = None, storage: Any = None):
        self.registry = registry
        self.routes = route_table()
        # infra.local.websocket.LocalWebSocketApi: the WebSocket API and its management endpoint.
        self.websockets = websockets
        # infra.local.storage_server.LocalStorageServer: signed URLs of STORAGE_BACKEND=local.
        self.storage = storage
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
        request = Request(scope, receive)
        owner = match(request.url.path, self.routes)
        if owner is None:
            response: Response = JSONResponse(
                {
                    "error": {
                        "code": "route_not_found",
                        "message": f"No route for {request.method} {request.url.path}.",
                        "details": {},
                        "request_id": None,
                    }
                },
                status_code=404,
            )
        else:
            prefix, function_name = owner
            event = build_event(request, await request.body(), prefix)
            if self._invocations is None:
                self._invocations = anyio.CapacityLimiter(INVOCATION_THREADS)
            result = await anyio.to_thread.run_sync(
                self.registry.invoke, function_name, event, limiter=self._invocations
            )
            response = to_response(result)
        await response(scope, receive, send)
