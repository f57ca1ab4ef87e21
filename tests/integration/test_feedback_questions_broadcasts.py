"""Meeting feedback, meeting Q&A and the admins' maintenance / new-feature announcements (issue 11,
section 6): the HTTP rules, the audit entries, and each of the five notification types arriving at
the right user from the real flow (HTTP call -> event on the bus -> notify worker -> notification)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.notifications.websocket import WebSocketManager
from agents_meetings.tables import AuditLogModel, NotificationModel
from http_support import FakeLambdaContext, assert_error, future
from notification_support import RecordingSender

pytestmark = pytest.mark.integration


@pytest.fixture
def worker(aws: Any, load_handler: Callable[[str], ModuleType]) -> ModuleType:
    module = load_handler("workers/notify")
    module.producer.service.websockets = WebSocketManager(RecordingSender())
    return module


def deliver(aws: Any, worker: ModuleType, *events: DomainEvent) -> list[dict[str, Any]]:
    """Hand the notify worker what was published on the bus (as its SQS queue would)."""
    wanted = {e.value for e in events}
    published = [(t, d) for t, d in aws.events() if t in wanted]
    records = [
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "r",
            "body": json.dumps({"id": d["event_id"], "detail-type": t, "source": DomainEvent(t).source, "detail": d}),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notify",
            "awsRegion": "us-east-1",
        }
        for t, d in published
    ]
    if records:
        result = worker.handler({"Records": records}, FakeLambdaContext())
        assert result == {"batchItemFailures": []}
    return [d for _, d in published]


def notifications_of(user_id: str, type_: str) -> list[NotificationModel]:
    return [n for n in NotificationModel.query(user_id) if n.type == type_]


def audit_actions(target_id: str) -> list[str]:
    return [entry.action for entry in AuditLogModel.by_target.query(target_id)]


@pytest.fixture
def scene(client: Any, make_user: Any) -> dict[str, Any]:
    """A meeting with a host, an attendee who joined, an invitee who never joined, and an outsider."""
    host = make_user("host", full_name="Hana Host")
    attendee = make_user(full_name="Ada Attendee")
    absent = make_user(full_name="Abe Absent")
    outsider = make_user()
    meeting = client.post(
        "/api/v1/meetings", json={"title": "Chemistry", "scheduled_at": future()}, headers=host.headers
    ).json()
    m = meeting["id"]
    invited = client.post(
        f"/api/v1/meetings/{m}/participants", json={"user_ids": [attendee.id, absent.id]}, headers=host.headers
    )
    assert invited.status_code == 200, invited.text
    assert client.post(f"/api/v1/meetings/{m}/start", headers=host.headers).status_code == 200
    assert client.post(f"/api/v1/meetings/{m}/join", headers=attendee.headers).status_code == 200
    return {"host": host, "attendee": attendee, "absent": absent, "outsider": outsider, "meeting": m}


# --- feedback -------------------------------------------------------------------------------


def test_a_participant_who_attended_rates_the_meeting_once_it_ended_and_the_host_is_notified(
    client: Any, aws: Any, worker: ModuleType, scene: dict[str, Any]
) -> None:
    host, attendee, m = scene["host"], scene["attendee"], scene["meeting"]
    early = client.post(f"/api/v1/meetings/{m}/feedback", json={"rating": 5}, headers=attendee.headers)
    assert_error(early, 409, "meeting_in_progress")
    assert client.post(f"/api/v1/meetings/{m}/end", headers=host.headers).status_code == 200

    given = client.post(
        f"/api/v1/meetings/{m}/feedback",
        json={"rating": 4, "comment": " Clear and well paced. "},
        headers=attendee.headers,
    )
    assert given.status_code == 201, given.text
    body = given.json()
    assert body["rating"] == 4 and body["comment"] == "Clear and well paced." and body["user_id"] == attendee.id
    assert "meeting.feedback_given" in audit_actions(m)

    delivered = deliver(aws, worker, DomainEvent.FEEDBACK_RECEIVED, DomainEvent.RATING_RECEIVED)
    assert len(delivered) == 2
    [feedback] = notifications_of(host.id, "new_feedback_received")
    assert feedback.message == "Ada Attendee left feedback on Chemistry." and feedback.data["meeting_id"] == m
    [rating] = notifications_of(host.id, "rating_received")
    assert rating.data["rating"] == 4
    assert notifications_of(attendee.id, "rating_received") == []


def test_a_second_feedback_on_the_same_meeting_is_a_conflict(client: Any, scene: dict[str, Any]) -> None:
    attendee, m = scene["attendee"], scene["meeting"]
    assert client.post(f"/api/v1/meetings/{m}/leave", headers=attendee.headers).status_code == 200
    # Having left the room is enough: the meeting may still be running for the others.
    assert (
        client.post(f"/api/v1/meetings/{m}/feedback", json={"rating": 3}, headers=attendee.headers).status_code == 201
    )
    again = client.post(f"/api/v1/meetings/{m}/feedback", json={"rating": 1}, headers=attendee.headers)
    assert_error(again, 409, "feedback_already_given")


def test_feedback_needs_attendance_and_refuses_the_host_and_outsiders(client: Any, scene: dict[str, Any]) -> None:
    host, absent, outsider, m = scene["host"], scene["absent"], scene["outsider"], scene["meeting"]
    assert client.post(f"/api/v1/meetings/{m}/end", headers=host.headers).status_code == 200
    url = f"/api/v1/meetings/{m}/feedback"
    assert_error(client.post(url, json={"rating": 5}, headers=absent.headers), 403, "not_attended")
    assert_error(client.post(url, json={"rating": 5}, headers=host.headers), 403, "host_cannot_give_feedback")
    assert_error(client.post(url, json={"rating": 5}, headers=outsider.headers), 404, "meeting_not_found")


@pytest.mark.parametrize("rating", [0, 6, "5", 4.5, True, None])
def test_a_rating_is_an_integer_from_one_to_five(client: Any, scene: dict[str, Any], rating: Any) -> None:
    response = client.post(
        f"/api/v1/meetings/{scene['meeting']}/feedback", json={"rating": rating}, headers=scene["attendee"].headers
    )
    assert_error(response, 422)


def test_the_host_and_admins_read_the_feedback_page_by_page_with_the_average(
    client: Any, make_user: Any, admin: Any, scene: dict[str, Any]
) -> None:
    host, attendee, m = scene["host"], scene["attendee"], scene["meeting"]
    others = [make_user() for _ in range(2)]
    client.post(f"/api/v1/meetings/{m}/participants", json={"user_ids": [u.id for u in others]}, headers=host.headers)
    for user in others:
        assert client.post(f"/api/v1/meetings/{m}/join", headers=user.headers).status_code == 200
    assert client.post(f"/api/v1/meetings/{m}/end", headers=host.headers).status_code == 200
    for user, rating in zip([attendee, *others], [5, 4, 2], strict=True):
        assert (
            client.post(f"/api/v1/meetings/{m}/feedback", json={"rating": rating}, headers=user.headers).status_code
            == 201
        )

    first = client.get(f"/api/v1/meetings/{m}/feedback?limit=2", headers=host.headers)
    assert first.status_code == 200, first.text
    assert first.json()["average_rating"] == pytest.approx(3.67) and first.json()["ratings_count"] == 3
    assert len(first.json()["items"]) == 2 and first.json()["next_cursor"]
    second = client.get(
        f"/api/v1/meetings/{m}/feedback",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=admin.headers,
    ).json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    seen = {f["user_id"] for f in [*first.json()["items"], *second["items"]]}
    assert seen == {attendee.id, *(u.id for u in others)}

    assert_error(client.get(f"/api/v1/meetings/{m}/feedback", headers=attendee.headers), 403, "host_required")
    assert_error(client.get(f"/api/v1/meetings/{m}/feedback", headers=scene["outsider"].headers), 404)
    assert_error(
        client.get(f"/api/v1/meetings/{m}/feedback", params={"cursor": "eyJhIjoxfQ"}, headers=host.headers),
        400,
        "invalid_cursor",
    )


# --- questions ------------------------------------------------------------------------------


def test_an_answered_question_notifies_whoever_asked_it(
    client: Any, aws: Any, worker: ModuleType, scene: dict[str, Any]
) -> None:
    host, attendee, absent, m = scene["host"], scene["attendee"], scene["absent"], scene["meeting"]
    asked = client.post(f"/api/v1/meetings/{m}/questions", json={"text": "Slides?"}, headers=absent.headers)
    assert asked.status_code == 201, asked.text
    question = asked.json()
    assert question["asked_by"] == absent.id and question["answer"] is None
    client.post(f"/api/v1/meetings/{m}/questions", json={"text": "Homework?"}, headers=attendee.headers)

    listed = client.get(f"/api/v1/meetings/{m}/questions?limit=1", headers=attendee.headers).json()
    assert [q["text"] for q in listed["items"]] == ["Slides?"] and listed["next_cursor"]
    rest = client.get(
        f"/api/v1/meetings/{m}/questions", params={"cursor": listed["next_cursor"]}, headers=attendee.headers
    ).json()
    assert [q["text"] for q in rest["items"]] == ["Homework?"] and rest["next_cursor"] is None

    answer_url = f"/api/v1/meetings/{m}/questions/{question['id']}/answer"
    assert_error(client.post(answer_url, json={"text": "Me too"}, headers=attendee.headers), 403, "answer_not_allowed")
    answered = client.post(answer_url, json={"text": "Yes, after class."}, headers=host.headers)
    assert answered.status_code == 200, answered.text
    assert answered.json()["answer"] == "Yes, after class." and answered.json()["answered_by"] == host.id
    assert_error(
        client.post(answer_url, json={"text": "Again"}, headers=host.headers), 409, "question_already_answered"
    )
    assert {"meeting.question_asked", "meeting.question_answered"} <= set(audit_actions(m))

    assert len(deliver(aws, worker, DomainEvent.QUESTION_ANSWERED)) == 1
    [notification] = notifications_of(absent.id, "question_answered")
    assert notification.message == "Hana Host answered your question."
    assert notification.data == {"meeting_id": m, "question_id": question["id"]}
    assert notifications_of(attendee.id, "question_answered") == []


def test_a_teacher_in_the_meeting_and_an_admin_may_answer_outsiders_see_nothing(
    client: Any, make_user: Any, admin: Any, scene: dict[str, Any]
) -> None:
    host, attendee, outsider, m = scene["host"], scene["attendee"], scene["outsider"], scene["meeting"]
    teacher = make_user("teacher")
    client.post(f"/api/v1/meetings/{m}/participants", json={"user_ids": [teacher.id]}, headers=host.headers)
    ids = [
        client.post(f"/api/v1/meetings/{m}/questions", json={"text": f"q{i}"}, headers=attendee.headers).json()["id"]
        for i in range(2)
    ]
    assert (
        client.post(
            f"/api/v1/meetings/{m}/questions/{ids[0]}/answer", json={"text": "a"}, headers=teacher.headers
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/v1/meetings/{m}/questions/{ids[1]}/answer", json={"text": "a"}, headers=admin.headers
        ).status_code
        == 200
    )
    assert_error(client.post(f"/api/v1/meetings/{m}/questions", json={"text": "x"}, headers=outsider.headers), 404)
    assert_error(client.get(f"/api/v1/meetings/{m}/questions", headers=outsider.headers), 404)
    missing = f"/api/v1/meetings/{m}/questions/{'0' * 16}deadbeef/answer"
    assert_error(client.post(missing, json={"text": "a"}, headers=host.headers), 404, "question_not_found")
    assert_error(client.post(f"/api/v1/meetings/{m}/questions", json={"text": "  "}, headers=attendee.headers), 422)


# --- maintenance and new features -----------------------------------------------------------


def test_scheduled_maintenance_notifies_every_active_user(
    client: Any, aws: Any, worker: ModuleType, admin: Any, scene: dict[str, Any]
) -> None:
    starts = datetime.now(UTC) + timedelta(days=2)
    body = {
        "starts_at": starts.isoformat().replace("+00:00", "Z"),
        "ends_at": (starts + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "message": "Database upgrade.",
    }
    assert_error(
        client.post("/api/v1/admin/maintenance", json=body, headers=scene["host"].headers), 403, "admin_required"
    )
    response = client.post("/api/v1/admin/maintenance", json=body, headers=admin.headers)
    assert response.status_code == 202, response.text
    maintenance_id = response.json()["maintenance_id"]
    assert audit_actions(maintenance_id) == ["platform.maintenance_scheduled"]

    assert len(deliver(aws, worker, DomainEvent.SYSTEM_MAINTENANCE_SCHEDULED)) == 1
    for user in (scene["host"], scene["attendee"], scene["outsider"], admin):
        [notification] = notifications_of(user.id, "system_maintenance_scheduled")
        assert notification.data["maintenance_id"] == maintenance_id
        assert notification.message.endswith("Database upgrade.")


def test_a_maintenance_window_must_end_after_it_starts(client: Any, admin: Any) -> None:
    starts = datetime.now(UTC) + timedelta(days=1)
    body = {
        "starts_at": starts.isoformat().replace("+00:00", "Z"),
        "ends_at": (starts - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
        "message": "m",
    }
    assert_error(client.post("/api/v1/admin/maintenance", json=body, headers=admin.headers), 422, "invalid_time_range")


def test_a_new_feature_notifies_every_active_user_with_its_link(
    client: Any, aws: Any, worker: ModuleType, admin: Any, make_user: Any
) -> None:
    user = make_user()
    inactive = make_user(active=False)
    body = {"title": "Live captions", "description": "Captions in any meeting.", "url": "https://example.com/captions"}
    assert_error(client.post("/api/v1/admin/features", json=body, headers=user.headers), 403, "admin_required")
    assert_error(
        client.post("/api/v1/admin/features", json={**body, "url": "javascript:alert(1)"}, headers=admin.headers), 422
    )
    response = client.post("/api/v1/admin/features", json=body, headers=admin.headers)
    assert response.status_code == 202, response.text
    feature_id = response.json()["feature_id"]
    assert audit_actions(feature_id) == ["platform.feature_announced"]

    assert len(deliver(aws, worker, DomainEvent.NEW_FEATURE_RELEASED)) == 1
    [notification] = notifications_of(user.id, "new_feature_available")
    assert notification.title == "New: Live captions"
    assert notification.data == {"feature_id": feature_id, "url": "https://example.com/captions"}
    assert notifications_of(inactive.id, "new_feature_available") == []
