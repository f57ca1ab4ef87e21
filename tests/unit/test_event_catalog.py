"""The domain event catalog, detail building and the in-memory and EventBridge publishers."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from agents_meetings import clock
from agents_meetings.events.catalog import REQUIRED_FIELDS, SOURCE_PREFIX, DomainEvent
from agents_meetings.events.publisher import EventBridgePublisher, RecordingPublisher, build_detail
from agents_meetings.settings import Settings

pytestmark = pytest.mark.unit

# The events the foundation issue requires (section 3), by name.
REQUIRED_BY_THE_ISSUE = {
    "UserRegistered",
    "UserApproved",
    "UserRejected",
    "UserRoleChanged",
    "MeetingCreated",
    "MeetingStarted",
    "MeetingEnded",
    "ParticipantJoined",
    "ParticipantLeft",
}


def _complete_detail(event: DomainEvent) -> dict[str, Any]:
    return {name: f"value-of-{name}" for name in REQUIRED_FIELDS[event]}


def test_every_event_the_issue_requires_is_declared() -> None:
    assert {event.value for event in DomainEvent} >= REQUIRED_BY_THE_ISSUE


@pytest.mark.parametrize("event", list(DomainEvent))
def test_every_event_has_a_domain_source_and_a_past_tense_name(event: DomainEvent) -> None:
    assert event.source == f"{SOURCE_PREFIX}.{event.domain}"
    assert event.source.startswith("agents-meetings.")
    assert event.domain in {"users", "meetings", "recordings", "notifications", "materials", "feedback", "platform"}
    assert event.value[0].isupper() and event.value.isalnum()
    assert event.value.endswith(("ed", "Left", "Ready")), "detail-types are past-tense facts"


@pytest.mark.parametrize("event", list(DomainEvent))
def test_every_event_declares_its_required_fields(event: DomainEvent) -> None:
    assert event in REQUIRED_FIELDS
    assert REQUIRED_FIELDS[event], "an event without required fields tells consumers nothing"
    assert not {"event_id", "occurred_at"} & REQUIRED_FIELDS[event], "added by build_detail"


def test_user_and_meeting_events_identify_their_subject() -> None:
    for event in DomainEvent:
        if event.domain in ("platform", "notifications"):
            continue  # platform-wide: an audience, not one subject
        subject = "user_id" if event.domain == "users" else "meeting_id"
        assert subject in REQUIRED_FIELDS[event], event


@pytest.mark.parametrize("event", list(DomainEvent))
def test_build_detail_rejects_a_detail_missing_a_required_field(event: DomainEvent) -> None:
    for missing in REQUIRED_FIELDS[event]:
        detail = _complete_detail(event)
        del detail[missing]
        with pytest.raises(ValueError, match=missing):
            build_detail(event, detail)


def test_build_detail_adds_an_event_id_and_the_time_it_occurred() -> None:
    clock.set_clock(lambda: datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))
    try:
        body = build_detail(DomainEvent.USER_APPROVED, {"user_id": "u1", "approved_by": "a1", "extra": 1})
    finally:
        clock.set_clock(None)
    assert body["occurred_at"] == "2026-03-04T05:06:07Z"
    assert uuid.UUID(body["event_id"])
    assert body["user_id"] == "u1" and body["approved_by"] == "a1" and body["extra"] == 1


def test_every_detail_gets_its_own_event_id() -> None:
    detail = _complete_detail(DomainEvent.MEETING_CREATED)
    ids = {build_detail(DomainEvent.MEETING_CREATED, detail)["event_id"] for _ in range(20)}
    assert len(ids) == 20


def test_recording_publisher_keeps_what_was_published_in_order() -> None:
    publisher = RecordingPublisher()
    first = publisher.publish(DomainEvent.USER_REGISTERED, _complete_detail(DomainEvent.USER_REGISTERED))
    second = publisher.publish(DomainEvent.USER_APPROVED, {"user_id": "u1", "approved_by": "a1"})
    third = publisher.publish(DomainEvent.USER_APPROVED, {"user_id": "u2", "approved_by": "a1"})
    assert [name for name, _ in publisher.published] == [
        DomainEvent.USER_REGISTERED,
        DomainEvent.USER_APPROVED,
        DomainEvent.USER_APPROVED,
    ]
    assert [detail["event_id"] for _, detail in publisher.published] == [first, second, third]
    assert [d["user_id"] for d in publisher.of(DomainEvent.USER_APPROVED)] == ["u1", "u2"]
    assert publisher.of(DomainEvent.MEETING_ENDED) == []


def test_recording_publisher_enforces_the_contract_too() -> None:
    publisher = RecordingPublisher()
    with pytest.raises(ValueError, match="approved_by"):
        publisher.publish(DomainEvent.USER_APPROVED, {"user_id": "u1"})
    assert publisher.published == []


class FakeEventsClient:
    """Answers put_events from a script: an exception to raise or a response to return, in turn."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.calls: list[list[dict[str, Any]]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        outcome = self.script.pop(0) if self.script else {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}
        if isinstance(outcome, Exception):
            raise outcome
        return dict(outcome)


def test_eventbridge_publisher_puts_one_entry_on_the_platform_bus() -> None:
    client = FakeEventsClient()
    publisher = EventBridgePublisher(Settings(EVENT_BUS_NAME="bus-under-test"), client=client)
    event_id = publisher.publish(DomainEvent.MEETING_STARTED, _complete_detail(DomainEvent.MEETING_STARTED))
    [[entry]] = client.calls
    assert entry["Source"] == "agents-meetings.meetings"
    assert entry["DetailType"] == "MeetingStarted"
    assert entry["EventBusName"] == "bus-under-test"
    detail = json.loads(entry["Detail"])
    assert detail["event_id"] == event_id
    assert REQUIRED_FIELDS[DomainEvent.MEETING_STARTED] <= detail.keys()


def test_eventbridge_publisher_retries_a_transient_failure() -> None:
    refused = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]}
    client = FakeEventsClient(ConnectionError("reset"), refused)
    publisher = EventBridgePublisher(Settings(), client=client)
    parked: list[Any] = []
    publisher._park = lambda *args: parked.append(args)  # type: ignore[method-assign]
    publisher.publish(DomainEvent.USER_APPROVED, {"user_id": "u1", "approved_by": "a1"})
    assert len(client.calls) == 3
    assert parked == []


def test_eventbridge_publisher_parks_the_event_after_its_attempts() -> None:
    refused = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "no luck"}]}
    client = FakeEventsClient(refused, refused, refused, refused)
    publisher = EventBridgePublisher(Settings(), client=client)
    parked: list[Any] = []
    publisher._park = lambda *args: parked.append(args)  # type: ignore[method-assign]
    event_id = publisher.publish(DomainEvent.USER_APPROVED, {"user_id": "u1", "approved_by": "a1"})
    assert len(client.calls) == EventBridgePublisher.ATTEMPTS
    [(parked_id, entry, error)] = parked
    assert parked_id == event_id and entry["DetailType"] == "UserApproved" and "no luck" in error


def test_eventbridge_publisher_validates_before_sending() -> None:
    client = FakeEventsClient()
    with pytest.raises(ValueError):
        EventBridgePublisher(Settings(), client=client).publish(DomainEvent.USER_APPROVED, {"user_id": "u1"})
    assert client.calls == []
