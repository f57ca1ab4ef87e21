"""The sample events in events/ match what the handlers consume."""

from __future__ import annotations

import json

import pytest
from agents_meetings.events.catalog import REQUIRED_FIELDS, DomainEvent

from infra.catalog import REPO_ROOT

pytestmark = pytest.mark.unit

EVENTS = REPO_ROOT / "events"


def test_api_gateway_sample_is_a_rest_proxy_event() -> None:
    event = json.loads((EVENTS / "users" / "get-me.json").read_text())
    assert {"resource", "path", "httpMethod", "headers", "requestContext", "body", "isBase64Encoded"} <= event.keys()
    assert event["requestContext"]["requestId"]
    assert event["path"].startswith("/api/v1/")


def test_eventbridge_sample_carries_the_declared_contract() -> None:
    event = json.loads((EVENTS / "eventbridge-participant-left.json").read_text())
    kind = DomainEvent(event["detail-type"])
    assert event["source"] == kind.source
    assert REQUIRED_FIELDS[kind] <= event["detail"].keys()


def test_every_sample_event_is_json_once_its_placeholders_are_filled() -> None:
    from infra.local.invoke import PLACEHOLDER, fill

    samples = sorted(EVENTS.glob("*/*.json"))
    assert samples
    for sample in samples:
        text = sample.read_text()
        event = fill(text, dict.fromkeys(PLACEHOLDER.findall(text), "x"))
        assert isinstance(event, dict), sample


def test_an_unfilled_placeholder_is_named_not_sent() -> None:
    from infra.local.invoke import fill

    with pytest.raises(ValueError, match="ACCESS_TOKEN"):
        fill('{"headers": {"authorization": "Bearer {{ACCESS_TOKEN}}"}}', {})
