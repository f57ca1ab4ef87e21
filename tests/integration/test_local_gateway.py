"""The local API Gateway: longest-prefix routing by the catalogue, REST proxy events in Lambda's
shape (query strings, multi-value headers, binary bodies), responses mapped back faithfully."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from infra.catalog import FUNCTIONS
from infra.local.functions import FunctionRegistry
from infra.local.gateway import LocalApiGateway, match, route_table, to_response

pytestmark = pytest.mark.integration


def test_every_api_prefix_routes_to_its_function_and_longest_prefix_wins() -> None:
    routes = route_table()
    for decl in FUNCTIONS:
        for prefix in decl.routes:
            assert match(prefix + "/anything", routes) == (prefix, decl.name)
    assert match("/api/v1/admin/users/1/approve", routes) == ("/api/v1/admin/users", "users")
    assert match("/api/v1/usersx", routes) is None  # a prefix matches whole path segments only
    assert match("/elsewhere", routes) is None


def test_event_shape_and_response_mapping() -> None:
    captured: dict[str, Any] = {}
    registry = FunctionRegistry()

    def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
        captured.update(event)
        return {
            "statusCode": 201,
            "headers": {"content-type": "application/octet-stream"},
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x00\xffbinary").decode(),
            "isBase64Encoded": True,
        }

    registry.register("meetings", echo)
    transport = httpx.ASGITransport(app=LocalApiGateway(registry))

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            return await client.post(
                "/api/v1/meetings/abc/join?x=1&x=2&y=",
                content=b"\x01\x02",
                headers={"content-type": "application/octet-stream", "x-trace": "t"},
            )

    import anyio

    response = anyio.run(call)
    assert response.status_code == 201
    assert response.content == b"\x00\xffbinary"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert captured["httpMethod"] == "POST"
    assert captured["resource"] == "/api/v1/meetings/{proxy+}"
    assert captured["pathParameters"] == {"proxy": "abc/join"}
    assert captured["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert captured["queryStringParameters"]["x"] == "2"
    assert captured["isBase64Encoded"] is True and base64.b64decode(captured["body"]) == b"\x01\x02"
    assert captured["requestContext"]["requestId"] and captured["requestContext"]["identity"]["sourceIp"]
    assert captured["headers"]["x-trace"] == "t"


def test_unknown_path_is_a_json_404_in_the_error_shape() -> None:
    transport = httpx.ASGITransport(app=LocalApiGateway(FunctionRegistry()))

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            return await client.get("/nope")

    import anyio

    response = anyio.run(call)
    assert response.status_code == 404
    assert json.loads(response.text)["error"]["code"] == "route_not_found"
    assert to_response({"statusCode": 204}).status_code == 204
