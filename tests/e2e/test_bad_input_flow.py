"""Bad input through the local runtime as a client sends it (issue 11, 3): every answer is a 4xx in
the error shape or a proper WebSocket close/error frame, never a 500 or a dropped connection."""

from __future__ import annotations

import json
import socket
import uuid
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform

pytestmark = pytest.mark.e2e


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"} and error["code"] == code, error


def admin_headers(api: httpx.Client) -> dict[str, str]:
    response = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def ws_url(api: httpx.Client, headers: dict[str, str]) -> str:
    ticket = api.post("/api/v1/notifications/ws-ticket", headers=headers)
    assert ticket.status_code == 201, ticket.text
    return f"{ticket.json()['url']}?ticket={ticket.json()['ticket']}"


def test_a_body_that_is_not_utf8_is_a_400_on_anonymous_and_authenticated_routes(api: httpx.Client) -> None:
    json_type = {"content-type": "application/json"}
    assert_error(api.post("/api/v1/auth/login", content=b"\xff", headers=json_type), 400, "invalid_body")
    assert_error(
        api.post("/api/v1/auth/register", content=b'{"email": "\xfe"}', headers=json_type), 400, "invalid_body"
    )
    headers = {**admin_headers(api), **json_type}
    assert_error(api.post("/api/v1/meetings", content=b'{"title": "\xff"}', headers=headers), 400, "invalid_body")
    assert api.get("/api/v1/health").status_code == 200


def test_oversized_tokens_and_urls_are_answered_in_the_error_shape(
    api: httpx.Client, platform: RunningPlatform
) -> None:
    assert_error(
        api.get("/api/v1/users/me", headers={"Authorization": "Bearer " + "a" * 100_000}),
        431,
        "request_headers_too_large",
    )
    assert_error(api.get("/api/v1/users/me", headers={"Authorization": "Bearer " + "a" * 9000}), 401, "token_too_large")
    # httpx refuses to build a 1 MB URL: send the request line by hand.
    port = int(platform.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"GET /api/v1/search/meetings?q=" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: local\r\n\r\n")
        received = b""
        while data := conn.recv(65536):
            received += data
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 ") and b"content-type: application/json" in head.lower(), head
    assert json.loads(body)["error"]["code"] == "uri_too_long"


def test_a_binary_frame_closes_the_socket_with_1003_as_api_gateway_does(api: httpx.Client) -> None:
    with connect(ws_url(api, admin_headers(api)), open_timeout=5) as socket_:
        socket_.send(b"\x00\xff binary")
        with pytest.raises(ConnectionClosed) as closed:
            socket_.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003, closed.value


def test_a_message_nested_too_deep_is_an_error_frame_and_the_connection_stays(api: httpx.Client) -> None:
    with connect(ws_url(api, admin_headers(api)), open_timeout=5) as socket_:
        for depth in (1000, 2000):  # within the 4 KB message limit, deeper than json's recursion limit
            socket_.send("[" * depth + "]" * depth)
            frame: dict[str, Any] = json.loads(socket_.recv(timeout=10))
            assert frame["type"] == "error" and frame["code"] == "invalid_message", frame
        socket_.send(json.dumps({"action": "ping"}))
        assert json.loads(socket_.recv(timeout=10)) == {"type": "pong"}


def test_an_upgrade_to_an_unknown_websocket_path_is_refused_with_a_404(platform: RunningPlatform) -> None:
    base = platform.base_url.replace("http://", "ws://")
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{base}/ws/other?x={uuid.uuid4().hex}", open_timeout=5)
    response = refused.value.response
    assert response.status_code == 404
    assert json.loads(response.body)["error"]["code"] == "route_not_found"
