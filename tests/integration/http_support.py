"""Helpers for the integration tests: the error-shape assertion, instants, Lambda events and context."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ERROR_KEYS = {"code", "message", "details", "request_id"}


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the one JSON error shape with this status (and code); returns the error."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == ERROR_KEYS, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    assert isinstance(error["request_id"], str) and error["request_id"], error
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def iso_z(instant: datetime) -> str:
    return instant.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def future(days: float = 1, **delta: float) -> str:
    """An ISO-8601 UTC instant in the future, with the Z suffix."""
    return iso_z(datetime.now(UTC) + timedelta(days=days, **delta))


# --- Lambda -------------------------------------------------------------------------------


@dataclass
class FakeLambdaContext:
    """What the Lambda runtime hands a handler, as far as Powertools and Mangum read it."""

    function_name: str = "agents-meetings-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:agents-meetings-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/agents-meetings-test"
    log_stream_name: str = "2026/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def api_gateway_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
    source_ip: str = "203.0.113.7",
) -> dict[str, Any]:
    """An API Gateway REST API (v1) proxy event as Lambda receives it."""
    parts = urlsplit(path)
    query = parse_qsl(parts.query, keep_blank_values=True)
    all_headers = {"Host": "api.example.com", "User-Agent": "pytest", "X-Forwarded-Proto": "https"}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    request_id = request_id or str(uuid.uuid4())
    return {
        "resource": resource or parts.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or parts.path,
            "httpMethod": method,
            "path": f"/prod{parts.path}",
            "stage": "prod",
            "requestId": request_id,
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": 1_767_225_600_000,
            "identity": {"sourceIp": source_ip, "userAgent": "pytest"},
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def eventbridge_event(detail_type: str, detail: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An EventBridge event as a rule's SQS target receives it."""
    from agents_meetings.events.catalog import DomainEvent

    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": DomainEvent(detail_type).source,
        "account": "123456789012",
        "time": "2026-01-01T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS batch as Lambda's event source mapping delivers it."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1767225600000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1767225600001",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:user-statistics",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


# --- events -------------------------------------------------------------------------------


def published(aws: Any, event: Any, **match: Any) -> list[dict[str, Any]]:
    """Details of ``event`` captured on the bus whose fields equal ``match``; each one is checked
    against the catalog's contract (required fields, an event id and when it occurred)."""
    from agents_meetings.events.catalog import REQUIRED_FIELDS

    found = []
    for detail in aws.events_of(event):
        if all(detail.get(name) == value for name, value in match.items()):
            missing = (REQUIRED_FIELDS[event] | {"event_id", "occurred_at"}) - detail.keys()
            assert not missing, f"{event} lacks {sorted(missing)}: {detail}"
            assert str(detail["occurred_at"]).endswith("Z"), detail
            found.append(detail)
    return found
