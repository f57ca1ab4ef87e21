"""Bad input is a clear 4xx in the error shape, never a 500 or a dropped connection (issue 11, 3):
bodies that are not UTF-8 (in the app, through Mangum's base64 bodies and through the local
gateway), oversized tokens, URLs and headers, WebSocket messages the parser cannot take."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from agents_meetings.notifications.websocket import TicketService, WebSocketManager
from agents_meetings.notifications.ws_routes import WebSocketRoutes
from http_support import FakeLambdaContext, api_gateway_event, assert_error
from notification_support import RecordingSender

from infra.local.functions import FunctionRegistry
from infra.local.gateway import LocalApiGateway
from infra.local.http_protocol import JsonErrorH11Protocol
from infra.local.runtime import free_port

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:No application metrics to publish")]

NOT_UTF8 = b'{"email": "\xff\xfe", "password": "x"}'


def assert_error_shape(status: int, body: bytes, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "details", "request_id"}, error
    assert error["code"] == code and error["message"] and error["request_id"], error


# --- the app ---------------------------------------------------------------------------------


def test_a_body_that_is_not_utf8_is_a_400_invalid_body(client: Any) -> None:
    response = client.post("/api/v1/auth/login", content=b"\xff", headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid_body")
    response = client.post("/api/v1/auth/register", content=NOT_UTF8, headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid_body")


def test_no_operation_answers_a_body_that_is_not_utf8_with_a_server_error(
    app: Any, admin_headers: dict[str, str]
) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as quiet:
        spec = quiet.get("/api/openapi.json").json()
        for path, operations in spec["paths"].items():
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            for method in operations:
                for headers in ({}, admin_headers):
                    for content_type in ("application/json", "application/x-www-form-urlencoded", "text/plain"):
                        response = quiet.request(
                            method.upper(),
                            concrete,
                            content=NOT_UTF8,
                            headers={**headers, "content-type": content_type},
                        )
                        assert response.status_code < 500 or response.status_code == 503, (method, path)
                        assert response.headers["content-type"].startswith("application/json"), (method, path)


def test_lambda_handlers_answer_a_base64_body_that_is_not_utf8_with_400(aws: Any, load_handler: Any) -> None:
    auth: ModuleType = load_handler("auth")
    event = api_gateway_event("POST", "/api/v1/auth/login", body={})
    event.update(body=base64.b64encode(NOT_UTF8).decode(), isBase64Encoded=True)
    response = auth.handler(event, FakeLambdaContext())
    assert_error_shape(response["statusCode"], response["body"].encode(), 400, "invalid_body")


def test_an_absurdly_long_bearer_token_is_a_401_token_too_large(client: Any) -> None:
    response = client.get("/api/v1/users/me", headers={"Authorization": "Bearer " + "a" * 100_000})
    assert_error(response, 401, "token_too_large")
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": "a" * 100_000})
    assert response.status_code in (401, 422), response.text
    assert response.status_code == 422 or response.json()["error"]["code"] == "token_too_large"


# --- WebSocket messages ---------------------------------------------------------------------


def test_websocket_messages_the_parser_cannot_take_are_an_invalid_message_frame(aws: Any, make_user: Any) -> None:
    user = make_user()
    manager = WebSocketManager(RecordingSender())
    routes = WebSocketRoutes(manager, TicketService())
    manager.connect(user.id, "conn-1")

    def say(**event: Any) -> dict[str, Any]:
        return routes.handle({"requestContext": {"routeKey": "$default", "connectionId": "conn-1"}, **event})

    for event in (
        # Within the 4 KB message limit, deeper than json's recursion limit.
        {"body": "[" * 1000 + "]" * 1000},
        {"body": '{"a": ' + "[" * 1500 + "]" * 1500 + "}"},
        {"body": base64.b64encode(b"\xff\xfe").decode(), "isBase64Encoded": True},
        {"body": "not base64!", "isBase64Encoded": True},
    ):
        reply = say(**event)
        assert reply["statusCode"] == 400, reply
        assert json.loads(reply["body"])["code"] == "invalid_message"
    ping = base64.b64encode(b'{"action": "ping"}').decode()
    assert json.loads(say(body=ping, isBase64Encoded=True)["body"]) == {"type": "pong"}


# --- the local gateway -----------------------------------------------------------------------


def call_gateway(registry: FunctionRegistry, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=LocalApiGateway(registry))

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            return await client.request(method, path, **kwargs)

    return anyio.run(call)


def echo_registry() -> tuple[FunctionRegistry, dict[str, Any]]:
    captured: dict[str, Any] = {}
    registry = FunctionRegistry()

    def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
        captured.update(event)
        return {"statusCode": 200, "body": "{}"}

    registry.register("auth", echo)
    return registry, captured


def test_the_gateway_passes_a_body_that_is_not_utf8_base64_encoded() -> None:
    registry, captured = echo_registry()
    response = call_gateway(
        registry, "POST", "/api/v1/auth/login", content=NOT_UTF8, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert captured["isBase64Encoded"] is True and base64.b64decode(captured["body"]) == NOT_UTF8
    call_gateway(registry, "POST", "/api/v1/auth/login", json={"a": "é"})
    assert captured["isBase64Encoded"] is False and json.loads(captured["body"]) == {"a": "é"}


def test_the_gateway_answers_oversized_urls_and_headers_in_the_error_shape() -> None:
    registry, captured = echo_registry()
    response = call_gateway(registry, "GET", "/api/v1/auth/login", params={"q": "a" * 9000})
    assert_error_shape(response.status_code, response.content, 414, "uri_too_long")
    response = call_gateway(registry, "GET", "/api/v1/auth/login", headers={"Authorization": "Bearer " + "a" * 12_000})
    assert_error_shape(response.status_code, response.content, 431, "request_headers_too_large")
    assert not captured  # neither reached the function
    assert call_gateway(registry, "GET", "/api/v1/auth/login", params={"q": "a" * 4000}).status_code == 200


@pytest.fixture
def gateway_server() -> Iterator[int]:
    """The local gateway behind uvicorn with the runtime's HTTP protocol, on a loopback port."""
    registry, _ = echo_registry()
    port = free_port()
    config = uvicorn.Config(
        LocalApiGateway(registry),
        host="127.0.0.1",
        port=port,
        log_level="error",
        lifespan="off",
        http=JsonErrorH11Protocol,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        threading.Event().wait(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def raw_exchange(port: int, *chunks: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer (the server closes or sends Content-Length)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        for chunk in chunks:
            try:
                conn.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break  # refused mid-request: the answer is already waiting
        received = b""
        while b"\r\n\r\n" not in received:
            data = conn.recv(65536)
            assert data, received
            received += data
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        while len(body) < int(headers.get("content-length", "0")):
            data = conn.recv(65536)
            if not data:
                break
            body += data
    return int(lines[0].split()[1]), headers, body


def test_the_local_server_answers_a_megabyte_url_in_the_error_shape(gateway_server: int) -> None:
    status, headers, body = raw_exchange(
        gateway_server, b"GET /api/v1/auth/login?q=" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: local\r\n\r\n"
    )
    assert headers["content-type"] == "application/json"
    assert_error_shape(status, body, 414, "uri_too_long")


def test_the_local_server_answers_a_100_kb_token_in_the_error_shape(gateway_server: int) -> None:
    head = b"GET /api/v1/users/me HTTP/1.1\r\nHost: local\r\nAuthorization: Bearer "
    # In pieces, as a slow client sends it: the server's parser buffer fills before the head ends.
    chunks = [head, *([b"a" * 10_000] * 10), b"\r\n\r\n"]
    status, headers, body = raw_exchange(gateway_server, *chunks)
    assert headers["content-type"] == "application/json"
    assert_error_shape(status, body, 431, "request_headers_too_large")


def test_the_local_server_answers_a_malformed_request_in_the_error_shape(gateway_server: int) -> None:
    for request in (b"NOT HTTP AT ALL\r\n\r\n", b"GET /\xff HTTP/1.1\r\nHost: local\r\n\r\n"):
        status, headers, body = raw_exchange(gateway_server, request)
        assert headers["content-type"] == "application/json", request
        assert_error_shape(status, body, 400, "invalid_request")
