"""The sample events in events/ match what the handlers consume."""

from __future__ import annotations

import json

import pytest
from agents_meetings.events.catalog import REQUIRED_FIELDS, DomainEvent

from infra.catalog import REPO_ROOT

pytestmark = pytest.mark.unit

EVENTS = REPO_ROOT / "events"


def test_api_gateway_sample_is_a_rest_proxy_event() -> None:
    event = json.loads((EVENTS / "apigw-get-me.json").read_text())
    assert {"resource", "path", "httpMethod", "headers", "requestContext", "body", "isBase64Encoded"} <= event.keys()
    assert event["requestContext"]["requestId"]
    assert event["path"].startswith("/api/v1/")


def test_eventbridge_sample_carries_the_declared_contract() -> None:
    event = json.loads((EVENTS / "eventbridge-participant-left.json").read_text())
    kind = DomainEvent(event["detail-type"])
    assert event["source"] == kind.source
    assert REQUIRED_FIELDS[kind] <= event["detail"].keys()
