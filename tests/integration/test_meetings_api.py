"""/api/v1/meetings: scheduling, visibility, the lifecycle state machine, invitations, joining the
LiveKit room and leaving it, with every denial and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.settings import get_settings
from agents_meetings.tables import MeetingModel, ParticipantModel
from http_support import assert_error, future, published
from livekit.api import TokenVerifier

pytestmark = pytest.mark.integration

MEETINGS = "/api/v1/meetings"
MEETING_FIELDS = {
    "id",
    "title",
    "description",
    "host_id",
    "meeting_type",
    "status",
    "scheduled_at",
    "started_at",
    "ended_at",
    "languages",
    "tags",
    "room_name",
    "auto_record",
    "created_at",
    "updated_at",
}
UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


class Meetings:
    """The meetings API as its users drive it."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def create(self, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        body = {"title": "Algebra 101", "scheduled_at": future(), **fields}
        response = self.client.post(MEETINGS, json=body, headers=headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def act(self, headers: dict[str, str], meeting_id: str, action: str, body: Any = None) -> Any:
        return self.client.post(f"{MEETINGS}/{meeting_id}/{action}", json=body, headers=headers)

    def ok(self, headers: dict[str, str], meeting_id: str, action: str, body: Any = None) -> dict[str, Any]:
        response = self.act(headers, meeting_id, action, body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def invite(self, headers: dict[str, str], meeting_id: str, *user_ids: str) -> Any:
        return self.act(headers, meeting_id, "participants", {"user_ids": list(user_ids)})

    def get(self, headers: dict[str, str] | None, meeting_id: str) -> Any:
        return self.client.get(f"{MEETINGS}/{meeting_id}", headers=headers)

    def listing(self, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
        """Every meeting of a listing, page after page."""
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(50):
            query = {**params, **({"cursor": cursor} if cursor else {})}
            response = self.client.get(MEETINGS, params=query, headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            if "limit" in params:
                assert len(body["items"]) <= int(params["limit"])
            items.extend(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return items
        raise AssertionError("the listing never ended")

    def participants(self, headers: dict[str, str], meeting_id: str, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get(f"{MEETINGS}/{meeting_id}/participants", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])


@pytest.fixture
def meetings(client: Any) -> Meetings:
    return Meetings(client)


@pytest.fixture
def host(make_user: Any) -> Any:
    return make_user("host", full_name="Hilda Host")


@pytest.fixture
def invitee(make_user: Any) -> Any:
    return make_user(full_name="Ivan Invitee")


@pytest.fixture
def stranger(make_user: Any) -> Any:
    return make_user(full_name="Stella Stranger")


@pytest.fixture
def meeting(meetings: Meetings, host: Any, invitee: Any) -> dict[str, Any]:
    """A scheduled meeting of ``host`` with ``invitee`` invited."""
    created = meetings.create(host.headers, languages=["en", "es"])
    assert meetings.invite(host.headers, created["id"], invitee.id).status_code == 200
    return created


@pytest.fixture
def active(meetings: Meetings, host: Any, meeting: dict[str, Any]) -> dict[str, Any]:
    return meetings.ok(host.headers, meeting["id"], "start")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def verify_livekit(token: str) -> Any:
    settings = get_settings()
    assert settings.livekit_api_key and settings.livekit_api_secret
    return TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret.get_secret_value()).verify(token)


# --- create ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["host", "teacher", "admin"])
def test_organisers_schedule_a_meeting(meetings: Meetings, make_user: Any, admin: Any, aws: Any, role: str) -> None:
    organiser = admin if role == "admin" else make_user(role)
    body = {
        "title": "  Algebra 101 ",
        "description": "First lesson",
        "meeting_type": "classroom",
        "scheduled_at": "2031-03-04T15:00:00+01:00",
        "languages": ["en", " es", "en"],
        "tags": ["Math", "math ", "Algebra"],
        "auto_record": True,
    }
    response = meetings.client.post(MEETINGS, json=body, headers=organiser.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == MEETING_FIELDS
    assert created["title"] == "Algebra 101" and created["host_id"] == organiser.id
    assert (created["status"], created["meeting_type"], created["auto_record"]) == ("scheduled", "classroom", True)
    assert created["scheduled_at"] == "2031-03-04T14:00:00Z"
    assert created["languages"] == ["en", "es"] and created["tags"] == ["math", "algebra"]
    assert created["room_name"] == f"meeting-{created['id']}"
    assert created["started_at"] is None and created["ended_at"] is None
    [event] = published(aws, DomainEvent.MEETING_CREATED, meeting_id=created["id"])
    assert (event["host_id"], event["title"], event["scheduled_at"]) == (
        organiser.id,
        "Algebra 101",
        "2031-03-04T14:00:00Z",
    )
    assert event["meeting_type"] == "classroom"
    hosts = meetings.participants(organiser.headers, created["id"])
    assert [(p["user_id"], p["role"], p["status"]) for p in hosts] == [(organiser.id, "host", "invited")]


def test_a_meeting_has_sensible_defaults(meetings: Meetings, host: Any) -> None:
    created = meetings.create(host.headers)
    assert created["languages"] == ["en"] and created["tags"] == [] and created["description"] is None
    assert created["meeting_type"] == "regular" and created["auto_record"] is False


def test_a_participant_cannot_schedule_a_meeting(meetings: Meetings, invitee: Any) -> None:
    response = meetings.client.post(MEETINGS, json={"title": "Mine", "scheduled_at": future()}, headers=invitee.headers)
    assert_error(response, 403, "organiser_required")
    assert meetings.listing(invitee.headers) == []


def test_scheduling_needs_a_token(meetings: Meetings) -> None:
    assert_error(
        meetings.client.post(MEETINGS, json={"title": "x", "scheduled_at": future()}), 401, "not_authenticated"
    )


INVALID_MEETINGS: list[tuple[dict[str, Any], str]] = [
    ({"scheduled_at": "2020-01-01T10:00:00Z"}, "scheduled_in_past"),
    ({"scheduled_at": "2031-01-01T10:00:00"}, "validation_error"),
    ({"scheduled_at": "next tuesday"}, "validation_error"),
    ({"scheduled_at": None}, "validation_error"),
    ({"languages": ["english"]}, "invalid_language"),
    ({"languages": ["EN"]}, "invalid_language"),
    ({"languages": ["e"]}, "validation_error"),
    ({"languages": []}, "validation_error"),
    ({"languages": ["en", "es", "fr", "de", "it", "pt", "nl", "sv", "da", "fi", "pl"]}, "validation_error"),
    ({"tags": [f"tag{i}" for i in range(21)]}, "validation_error"),
    ({"tags": ["x" * 51]}, "validation_error"),
    ({"title": ""}, "validation_error"),
    ({"title": "   "}, "validation_error"),
    ({"title": "x" * 201}, "validation_error"),
    ({"description": "x" * 5001}, "validation_error"),
    ({"meeting_type": "webinar"}, "validation_error"),
    ({"auto_record": "sometimes"}, "validation_error"),
    ({"host_id": UNKNOWN_ID}, "validation_error"),
    ({"status": "active"}, "validation_error"),
]


def test_invalid_meetings_are_rejected_with_422_and_nothing_is_written(
    meetings: Meetings, host: Any, aws: Any, subtests: Any
) -> None:
    for changes, code in INVALID_MEETINGS:
        with subtests.test(changes=changes):
            body = {"title": "Algebra 101", "scheduled_at": future(), **changes}
            assert_error(meetings.client.post(MEETINGS, json=body, headers=host.headers), 422, code)
    assert MeetingModel.count() == 0
    assert published(aws, DomainEvent.MEETING_CREATED) == []


def test_a_meeting_may_start_a_few_minutes_ago_clock_skew(meetings: Meetings, host: Any) -> None:
    created = meetings.create(host.headers, scheduled_at=future(days=0, minutes=-2))
    assert created["status"] == "scheduled"


# --- visibility --------------------------------------------------------------------------------


def test_host_invitee_and_admin_see_a_meeting_a_stranger_gets_404(
    meetings: Meetings, meeting: dict[str, Any], host: Any, invitee: Any, admin: Any, stranger: Any
) -> None:
    for viewer in (host, invitee, admin):
        response = meetings.get(viewer.headers, meeting["id"])
        assert response.status_code == 200, response.text
        assert response.json() == {**meeting, "updated_at": response.json()["updated_at"]}
    error = assert_error(meetings.get(stranger.headers, meeting["id"]), 404, "meeting_not_found")
    unknown = assert_error(meetings.get(stranger.headers, UNKNOWN_ID), 404, "meeting_not_found")
    assert error["message"] == unknown["message"], "a hidden meeting looks exactly like a missing one"


def test_reading_a_meeting_needs_a_token_and_a_well_formed_id(
    meetings: Meetings, meeting: dict[str, Any], host: Any
) -> None:
    assert_error(meetings.get(None, meeting["id"]), 401, "not_authenticated")
    assert_error(meetings.get(host.headers, "bad$id"), 422, "validation_error")
    assert_error(meetings.get(host.headers, "x" * 65), 422, "validation_error")


def test_a_participant_sees_only_meetings_they_host_or_were_invited_to(
    meetings: Meetings, host: Any, invitee: Any, stranger: Any, make_user: Any
) -> None:
    other_host = make_user("teacher")
    invited_one = meetings.create(host.headers, title="Invited")
    meetings.invite(host.headers, invited_one["id"], invitee.id)
    hosted_elsewhere = meetings.create(other_host.headers, title="Not invited")
    meetings.create(host.headers, title="Also not invited")
    assert ids(meetings.listing(invitee.headers)) == [invited_one["id"]]
    assert meetings.listing(stranger.headers) == []
    assert ids(meetings.listing(other_host.headers)) == [hosted_elsewhere["id"]]
    assert len(meetings.listing(host.headers)) == 2
    assert_error(meetings.get(invitee.headers, hosted_elsewhere["id"]), 404, "meeting_not_found")


# --- listing ----------------------------------------------------------------------------------


def test_my_meetings_are_soonest_first_and_page_without_duplicates_or_omissions(
    meetings: Meetings, host: Any, invitee: Any
) -> None:
    created = [
        meetings.create(host.headers, title=f"M{days}", scheduled_at=future(days=days)) for days in (5, 1, 4, 2, 3)
    ]
    for item in created:
        meetings.invite(host.headers, item["id"], invitee.id)
    expected = [m["id"] for m in sorted(created, key=lambda m: m["scheduled_at"])]
    for viewer in (host, invitee):
        assert ids(meetings.listing(viewer.headers, limit=2)) == expected
        assert ids(meetings.listing(viewer.headers, limit=5)) == expected
    first_page = meetings.client.get(MEETINGS, params={"limit": 5}, headers=host.headers).json()
    assert first_page["next_cursor"] is None, "a page that ends the listing has no cursor"


def test_my_meetings_filter_by_status_and_time(meetings: Meetings, host: Any) -> None:
    soon = meetings.create(host.headers, title="soon", scheduled_at=future(days=1))
    later = meetings.create(host.headers, title="later", scheduled_at=future(days=10))
    latest = meetings.create(host.headers, title="latest", scheduled_at=future(days=20))
    meetings.ok(host.headers, later["id"], "start")
    meetings.ok(host.headers, latest["id"], "cancel")
    assert ids(meetings.listing(host.headers, status="active")) == [later["id"]]
    assert ids(meetings.listing(host.headers, status="scheduled")) == [soon["id"]]
    assert ids(meetings.listing(host.headers, status="cancelled")) == [latest["id"]]
    assert meetings.listing(host.headers, status="ended") == []
    assert ids(meetings.listing(host.headers, **{"from": future(days=5)})) == [later["id"], latest["id"]]
    assert ids(meetings.listing(host.headers, to=future(days=5))) == [soon["id"]]
    window = {"from": future(days=5), "to": future(days=15)}
    assert ids(meetings.listing(host.headers, **window)) == [later["id"]]
    assert ids(meetings.listing(host.headers, status="scheduled", limit=1, **{"from": future(days=0)})) == [soon["id"]]
    assert ids(meetings.listing(host.headers, limit=1)) == [soon["id"], later["id"], latest["id"]]


BAD_LISTING_PARAMETERS: list[tuple[dict[str, Any], str]] = [
    ({"from": "2031-01-02T00:00:00Z", "to": "2031-01-01T00:00:00Z"}, "invalid_time_range"),
    ({"from": "2031-01-01T00:00:00"}, "validation_error"),
    ({"to": "yesterday"}, "validation_error"),
    ({"status": "running"}, "validation_error"),
    ({"scope": "everything"}, "validation_error"),
    ({"limit": 0}, "validation_error"),
    ({"limit": 101}, "validation_error"),
    ({"cursor": "garbage!"}, "invalid_cursor"),
]


def test_bad_listing_parameters_are_rejected(meetings: Meetings, host: Any, subtests: Any) -> None:
    for params, code in BAD_LISTING_PARAMETERS:
        with subtests.test(params=params):
            response = meetings.client.get(MEETINGS, params=params, headers=host.headers)
            assert_error(response, 400 if code == "invalid_cursor" else 422, code)


def test_a_well_formed_cursor_of_another_key_schema_is_400_not_500(
    quiet_client: Any, host: Any, admin: Any, make_user: Any
) -> None:
    from agents_meetings.pagination import encode_cursor

    make_user()
    make_user()
    users_cursor = quiet_client.get("/api/v1/admin/users?limit=1", headers=admin.headers).json()["next_cursor"]
    for cursor in ("eyJhIjoxfQ", users_cursor, encode_cursor({"user_id": {"S": "x"}})):  # eyJhIjoxfQ: {"a":1}
        for scope in ("mine", "all"):
            headers = host.headers if scope == "mine" else admin.headers
            response = quiet_client.get(MEETINGS, params={"cursor": cursor, "scope": scope}, headers=headers)
            assert_error(response, 400, "invalid_cursor")


def test_an_admin_lists_every_meeting_with_scope_all(meetings: Meetings, admin: Any, host: Any, make_user: Any) -> None:
    teacher = make_user("teacher")
    created = [meetings.create(host.headers, scheduled_at=future(days=d)) for d in (1, 2, 3)]
    created += [meetings.create(teacher.headers, scheduled_at=future(days=d)) for d in (4, 5)]
    meetings.ok(host.headers, created[0]["id"], "start")
    meetings.ok(teacher.headers, created[3]["id"], "cancel")
    everything = meetings.listing(admin.headers, scope="all", limit=2)
    assert sorted(ids(everything)) == sorted(ids(created))
    assert len(ids(everything)) == len(set(ids(everything)))
    assert ids(meetings.listing(admin.headers, scope="all", status="cancelled")) == [created[3]["id"]]
    window = {"from": future(days=1.5), "to": future(days=4.5)}
    assert sorted(ids(meetings.listing(admin.headers, scope="all", **window))) == sorted(ids(created[1:4]))
    assert meetings.listing(admin.headers) == [], "scope=mine: the admin hosts nothing and was invited to nothing"


def test_scope_all_is_for_admins_only(meetings: Meetings, make_user: Any, subtests: Any) -> None:
    for role in ("participant", "host", "teacher"):
        with subtests.test(role=role):
            user = make_user(role)
            response = meetings.client.get(MEETINGS, params={"scope": "all"}, headers=user.headers)
            assert_error(response, 403, "admin_required")


# --- update ------------------------------------------------------------------------------------


def test_the_host_updates_a_meeting(meetings: Meetings, meeting: dict[str, Any], host: Any, admin: Any) -> None:
    changes = {
        "title": " Algebra 102 ",
        "description": "Second",
        "tags": ["Math"],
        "languages": ["fr"],
        "auto_record": True,
    }
    response = meetings.client.patch(f"{MEETINGS}/{meeting['id']}", json=changes, headers=host.headers)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["title"], updated["description"], updated["tags"]) == ("Algebra 102", "Second", ["math"])
    assert updated["languages"] == ["fr"] and updated["auto_record"] is True
    assert updated["updated_at"] > meeting["updated_at"]
    by_admin = meetings.client.patch(f"{MEETINGS}/{meeting['id']}", json={"title": "By admin"}, headers=admin.headers)
    assert by_admin.status_code == 200 and by_admin.json()["title"] == "By admin"
    entries = meetings.client.get(f"/api/v1/admin/audit-logs?target_id={meeting['id']}", headers=admin.headers).json()
    assert [e["action"] for e in entries["items"]].count("meeting.updated") == 2


def test_an_invitee_cannot_update_and_a_stranger_cannot_see(
    meetings: Meetings, meeting: dict[str, Any], invitee: Any, stranger: Any
) -> None:
    url = f"{MEETINGS}/{meeting['id']}"
    assert_error(meetings.client.patch(url, json={"title": "Mine now"}, headers=invitee.headers), 403, "host_required")
    assert_error(
        meetings.client.patch(url, json={"title": "Mine now"}, headers=stranger.headers), 404, "meeting_not_found"
    )
    assert MeetingModel.get(meeting["id"]).title == "Algebra 101"


INVALID_UPDATES: list[tuple[dict[str, Any], str]] = [
    ({"scheduled_at": "2020-01-01T00:00:00Z"}, "scheduled_in_past"),
    ({"scheduled_at": "2031-01-01T00:00:00"}, "validation_error"),
    ({"languages": ["english"]}, "invalid_language"),
    ({"languages": []}, "validation_error"),
    ({"tags": [f"t{i}" for i in range(21)]}, "validation_error"),
    ({"status": "active"}, "validation_error"),
    ({"host_id": UNKNOWN_ID}, "validation_error"),
    ({"title": ""}, "validation_error"),
]


def test_invalid_updates_are_422_and_change_nothing(
    meetings: Meetings, meeting: dict[str, Any], host: Any, subtests: Any
) -> None:
    for changes, code in INVALID_UPDATES:
        with subtests.test(changes=changes):
            response = meetings.client.patch(f"{MEETINGS}/{meeting['id']}", json=changes, headers=host.headers)
            assert_error(response, 422, code)
            assert meetings.get(host.headers, meeting["id"]).json() == meeting


def test_rescheduling_reorders_every_participants_history(meetings: Meetings, host: Any, invitee: Any) -> None:
    first = meetings.create(host.headers, title="first", scheduled_at=future(days=1))
    second = meetings.create(host.headers, title="second", scheduled_at=future(days=2))
    for item in (first, second):
        meetings.invite(host.headers, item["id"], invitee.id)
    assert ids(meetings.listing(invitee.headers)) == [first["id"], second["id"]]
    new_time = future(days=3)
    response = meetings.client.patch(f"{MEETINGS}/{first['id']}", json={"scheduled_at": new_time}, headers=host.headers)
    assert response.status_code == 200 and response.json()["scheduled_at"] == new_time
    for viewer in (host, invitee):
        assert ids(meetings.listing(viewer.headers)) == [second["id"], first["id"]]
        assert ids(meetings.listing(viewer.headers, **{"from": future(days=2.5)})) == [first["id"]]
    for participant in ParticipantModel.query(first["id"]):
        assert participant.scheduled_at == MeetingModel.get(first["id"]).scheduled_at


def test_a_started_meeting_cannot_be_rescheduled_and_a_closed_one_not_changed(
    meetings: Meetings, active: dict[str, Any], host: Any
) -> None:
    url = f"{MEETINGS}/{active['id']}"
    assert_error(
        meetings.client.patch(url, json={"scheduled_at": future(days=3)}, headers=host.headers),
        409,
        "meeting_already_started",
    )
    assert meetings.client.patch(url, json={"title": "Renamed live"}, headers=host.headers).status_code == 200
    meetings.ok(host.headers, active["id"], "end")
    assert_error(meetings.client.patch(url, json={"title": "After"}, headers=host.headers), 409, "meeting_closed")


# --- lifecycle -------------------------------------------------------------------------------


def test_start_then_end_publishes_the_lifecycle(
    meetings: Meetings, meeting: dict[str, Any], host: Any, aws: Any
) -> None:
    started = meetings.ok(host.headers, meeting["id"], "start")
    assert started["status"] == "active" and started["started_at"]
    [event] = published(aws, DomainEvent.MEETING_STARTED, meeting_id=meeting["id"])
    assert event["host_id"] == host.id and event["room_name"] == meeting["room_name"]
    assert event["languages"] == ["en", "es"] and event["auto_record"] is False
    ended = meetings.ok(host.headers, meeting["id"], "end")
    assert ended["status"] == "ended" and ended["ended_at"] >= ended["started_at"]
    [event] = published(aws, DomainEvent.MEETING_ENDED, meeting_id=meeting["id"])
    assert (event["started_at"], event["ended_at"]) == (started["started_at"], ended["ended_at"])
    assert event["host_id"] == host.id


def test_ending_a_meeting_that_never_started_is_a_409_with_a_clear_message(
    meetings: Meetings, meeting: dict[str, Any], host: Any, aws: Any
) -> None:
    error = assert_error(meetings.act(host.headers, meeting["id"], "end"), 409, "invalid_meeting_state")
    assert "never started" in error["message"] and "cancel" in error["message"]
    assert error["details"] == {"status": "scheduled"}
    assert published(aws, DomainEvent.MEETING_ENDED) == []
    assert MeetingModel.get(meeting["id"]).status == "scheduled"


def test_starting_twice_is_a_409(meetings: Meetings, active: dict[str, Any], host: Any, aws: Any) -> None:
    error = assert_error(meetings.act(host.headers, active["id"], "start"), 409, "invalid_meeting_state")
    assert "active" in error["message"]
    assert len(published(aws, DomainEvent.MEETING_STARTED, meeting_id=active["id"])) == 1


def test_an_active_meeting_cannot_be_cancelled(meetings: Meetings, active: dict[str, Any], host: Any) -> None:
    error = assert_error(meetings.act(host.headers, active["id"], "cancel"), 409, "invalid_meeting_state")
    assert "End it instead" in error["message"]


def test_a_cancelled_meeting_cannot_start_end_or_be_cancelled_again(
    meetings: Meetings, meeting: dict[str, Any], host: Any
) -> None:
    assert meetings.ok(host.headers, meeting["id"], "cancel")["status"] == "cancelled"
    for action in ("start", "end", "cancel"):
        assert_error(meetings.act(host.headers, meeting["id"], action), 409, "invalid_meeting_state")


def test_an_ended_meeting_cannot_start_again_or_end_twice(
    meetings: Meetings, active: dict[str, Any], host: Any
) -> None:
    meetings.ok(host.headers, active["id"], "end")
    for action in ("start", "end", "cancel"):
        assert_error(meetings.act(host.headers, active["id"], action), 409, "invalid_meeting_state")


@pytest.mark.parametrize("action", ["start", "end", "cancel"])
def test_only_the_host_or_an_admin_drives_the_lifecycle(
    meetings: Meetings, meeting: dict[str, Any], invitee: Any, stranger: Any, admin: Any, action: str
) -> None:
    assert_error(meetings.act(invitee.headers, meeting["id"], action), 403, "host_required")
    assert_error(meetings.act(stranger.headers, meeting["id"], action), 404, "meeting_not_found")
    assert_error(meetings.act(admin.headers, UNKNOWN_ID, action), 404, "meeting_not_found")
    if action != "end":
        assert meetings.act(admin.headers, meeting["id"], action).status_code == 200


def test_lifecycle_actions_are_audited(meetings: Meetings, meeting: dict[str, Any], host: Any, admin: Any) -> None:
    meetings.ok(host.headers, meeting["id"], "start")
    meetings.ok(host.headers, meeting["id"], "end")
    entries = meetings.client.get(f"/api/v1/admin/audit-logs?target_id={meeting['id']}", headers=admin.headers).json()
    actions = [entry["action"] for entry in entries["items"]]
    assert actions[:2] == ["meeting.ended", "meeting.started"]
    assert {"meeting.created", "meeting.participants_invited"} <= set(actions)


# --- invitations -------------------------------------------------------------------------------


def test_inviting_reports_new_and_already_invited_users(
    meetings: Meetings, meeting: dict[str, Any], host: Any, invitee: Any, make_user: Any
) -> None:
    newcomer = make_user("teacher")
    response = meetings.invite(host.headers, meeting["id"], newcomer.id, invitee.id, newcomer.id, host.id)
    assert response.status_code == 200, response.text
    assert response.json() == {"invited": [newcomer.id], "already_invited": [invitee.id, host.id]}
    listed = meetings.participants(host.headers, meeting["id"])
    assert sorted(p["user_id"] for p in listed) == sorted([host.id, invitee.id, newcomer.id])
    roles = {p["user_id"]: (p["role"], p["status"]) for p in listed}
    assert roles[newcomer.id] == ("attendee", "invited") and roles[host.id] == ("host", "invited")
    assert ids(meetings.listing(newcomer.headers)) == [meeting["id"]]


def test_inviting_unknown_or_unapproved_users_is_422_and_invites_nobody(
    meetings: Meetings, meeting: dict[str, Any], host: Any, make_user: Any
) -> None:
    pending = make_user(status="pending")
    rejected = make_user(status="rejected")
    inactive = make_user(active=False)
    fine = make_user()
    before = meetings.participants(host.headers, meeting["id"])
    response = meetings.invite(host.headers, meeting["id"], fine.id, UNKNOWN_ID, pending.id, rejected.id, inactive.id)
    error = assert_error(response, 422, "invalid_invitees")
    assert error["details"] == {"user_ids": [UNKNOWN_ID, pending.id, rejected.id, inactive.id]}
    assert meetings.participants(host.headers, meeting["id"]) == before, "not even the valid user was invited"


def test_malformed_invitations_are_422(meetings: Meetings, meeting: dict[str, Any], host: Any, subtests: Any) -> None:
    for body in (
        {"user_ids": []},
        {"user_ids": ["bad$id"]},
        {"user_ids": "someone"},
        {},
        {"user_ids": [UNKNOWN_ID] * 101},
        {"user_ids": ["a"], "role": "host"},
    ):
        with subtests.test(body=str(body)[:60]):
            response = meetings.client.post(f"{MEETINGS}/{meeting['id']}/participants", json=body, headers=host.headers)
            assert_error(response, 422, "validation_error")


def test_only_the_host_or_an_admin_invites(
    meetings: Meetings, meeting: dict[str, Any], invitee: Any, stranger: Any, admin: Any, make_user: Any
) -> None:
    friend = make_user()
    assert_error(meetings.invite(invitee.headers, meeting["id"], friend.id), 403, "host_required")
    assert_error(meetings.invite(stranger.headers, meeting["id"], friend.id), 404, "meeting_not_found")
    assert meetings.invite(admin.headers, meeting["id"], friend.id).json()["invited"] == [friend.id]


@pytest.mark.parametrize("closing", ["cancel", "end"])
def test_nobody_can_be_invited_to_a_closed_meeting(
    meetings: Meetings, meeting: dict[str, Any], host: Any, make_user: Any, closing: str
) -> None:
    friend = make_user()
    if closing == "end":
        meetings.ok(host.headers, meeting["id"], "start")
    meetings.ok(host.headers, meeting["id"], closing)
    assert_error(meetings.invite(host.headers, meeting["id"], friend.id), 409, "meeting_closed")
    assert len(meetings.participants(host.headers, meeting["id"])) == 2


def test_participants_are_listed_to_those_who_see_the_meeting_and_filter_by_status(
    meetings: Meetings, active: dict[str, Any], host: Any, invitee: Any, stranger: Any, make_user: Any
) -> None:
    others = [make_user() for _ in range(2)]
    meetings.invite(host.headers, active["id"], *(o.id for o in others))
    meetings.ok(invitee.headers, active["id"], "join")
    everyone = meetings.participants(invitee.headers, active["id"], limit=100)
    assert len(everyone) == 4
    paged, cursor = [], None
    for _ in range(10):
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = meetings.client.get(
            f"{MEETINGS}/{active['id']}/participants", params=params, headers=host.headers
        ).json()
        paged.extend(p["user_id"] for p in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(paged) == sorted(p["user_id"] for p in everyone)
    joined = meetings.participants(host.headers, active["id"], status="joined")
    assert [p["user_id"] for p in joined] == [invitee.id]
    response = meetings.client.get(f"{MEETINGS}/{active['id']}/participants", headers=stranger.headers)
    assert_error(response, 404, "meeting_not_found")
    response = meetings.client.get(f"{MEETINGS}/{active['id']}/participants?status=gone", headers=host.headers)
    assert_error(response, 422, "validation_error")


# --- join and leave ----------------------------------------------------------------------------


def test_joining_returns_a_livekit_token_for_the_meetings_room(
    meetings: Meetings, active: dict[str, Any], invitee: Any, aws: Any
) -> None:
    response = meetings.act(invitee.headers, active["id"], "join", {"language": "es"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["livekit_url"] == get_settings().livekit_url == "ws://127.0.0.1:7880"
    assert body["room_name"] == active["room_name"] and body["identity"] == invitee.id
    assert body["expires_in"] == get_settings().livekit_token_ttl_seconds
    claims = verify_livekit(body["token"])
    assert claims.identity == invitee.id and claims.name == "Ivan Invitee"
    assert claims.video is not None
    assert claims.video.room == active["room_name"] and claims.video.room_join is True
    assert claims.video.can_publish is True and not claims.video.room_admin
    assert json.loads(claims.metadata) == {"language": "es", "meeting_role": "attendee"}
    participant = body["participant"]
    assert (participant["status"], participant["language"], participant["role"]) == ("joined", "es", "attendee")
    assert participant["joined_at"].endswith("Z") and participant["left_at"] is None
    [event] = published(aws, DomainEvent.PARTICIPANT_JOINED, meeting_id=active["id"], user_id=invitee.id)
    assert event["joined_at"] == participant["joined_at"] and event["language"] == "es"


def test_joining_twice_keeps_one_presence(meetings: Meetings, active: dict[str, Any], invitee: Any, aws: Any) -> None:
    first = meetings.ok(invitee.headers, active["id"], "join")
    second = meetings.ok(invitee.headers, active["id"], "join")
    assert second["participant"]["joined_at"] == first["participant"]["joined_at"]
    assert len(published(aws, DomainEvent.PARTICIPANT_JOINED, user_id=invitee.id)) == 1


def test_in_a_classroom_only_the_teacher_publishes(meetings: Meetings, make_user: Any) -> None:
    teacher, student = make_user("teacher"), make_user()
    classroom = meetings.create(teacher.headers, meeting_type="classroom")
    meetings.invite(teacher.headers, classroom["id"], student.id)
    meetings.ok(teacher.headers, classroom["id"], "start")
    teacher_video = verify_livekit(meetings.ok(teacher.headers, classroom["id"], "join")["token"]).video
    student_video = verify_livekit(meetings.ok(student.headers, classroom["id"], "join")["token"]).video
    assert teacher_video.can_publish is True and teacher_video.room_admin is True
    assert student_video.can_publish is False and not student_video.room_admin
    assert student_video.can_subscribe is True


def test_an_admin_joins_any_active_meeting_as_an_observer(
    meetings: Meetings, active: dict[str, Any], admin: Any
) -> None:
    body = meetings.ok(admin.headers, active["id"], "join")
    assert body["participant"]["role"] == "observer"
    video = verify_livekit(body["token"]).video
    assert video.room == active["room_name"] and video.room_admin is True


def test_joining_in_a_language_the_meeting_does_not_have_is_422(
    meetings: Meetings, active: dict[str, Any], invitee: Any
) -> None:
    error = assert_error(
        meetings.act(invitee.headers, active["id"], "join", {"language": "de"}), 422, "invalid_language"
    )
    assert error["details"] == {"languages": ["en", "es"]}
    assert ParticipantModel.get(active["id"], invitee.id).status == "invited"
    assert_error(meetings.act(invitee.headers, active["id"], "join", {"language": "x"}), 422, "validation_error")
    assert_error(meetings.act(invitee.headers, active["id"], "join", {"muted": True}), 422, "validation_error")


def test_a_scheduled_meeting_cannot_be_joined_yet(meetings: Meetings, meeting: dict[str, Any], invitee: Any) -> None:
    assert_error(meetings.act(invitee.headers, meeting["id"], "join"), 409, "meeting_not_started")


@pytest.mark.parametrize("closing", ["cancel", "end"])
def test_a_closed_meeting_cannot_be_joined(
    meetings: Meetings, meeting: dict[str, Any], host: Any, invitee: Any, closing: str
) -> None:
    if closing == "end":
        meetings.ok(host.headers, meeting["id"], "start")
    meetings.ok(host.headers, meeting["id"], closing)
    error = assert_error(meetings.act(invitee.headers, meeting["id"], "join"), 409, "meeting_closed")
    assert ("cancelled" if closing == "cancel" else "ended") in error["message"]


def test_a_stranger_cannot_join(meetings: Meetings, active: dict[str, Any], stranger: Any) -> None:
    assert_error(meetings.act(stranger.headers, active["id"], "join"), 404, "meeting_not_found")
    assert_error(meetings.act(stranger.headers, active["id"], "leave"), 404, "meeting_not_found")


def test_leaving_publishes_participant_left(meetings: Meetings, active: dict[str, Any], invitee: Any, aws: Any) -> None:
    joined = meetings.ok(invitee.headers, active["id"], "join")["participant"]
    left = meetings.ok(invitee.headers, active["id"], "leave")
    assert left["status"] == "left" and left["left_at"] >= left["joined_at"]
    [event] = published(aws, DomainEvent.PARTICIPANT_LEFT, meeting_id=active["id"], user_id=invitee.id)
    assert (event["joined_at"], event["left_at"]) == (joined["joined_at"], left["left_at"])
    assert_error(meetings.act(invitee.headers, active["id"], "leave"), 409, "not_joined")


def test_leaving_without_having_joined_is_a_409(meetings: Meetings, active: dict[str, Any], invitee: Any) -> None:
    error = assert_error(meetings.act(invitee.headers, active["id"], "leave"), 409, "not_joined")
    assert error["message"] == "You are not in this meeting."


def test_rejoining_after_leaving_starts_a_new_presence(
    meetings: Meetings, active: dict[str, Any], invitee: Any, aws: Any
) -> None:
    meetings.ok(invitee.headers, active["id"], "join")
    meetings.ok(invitee.headers, active["id"], "leave")
    again = meetings.ok(invitee.headers, active["id"], "join")["participant"]
    assert again["status"] == "joined" and again["left_at"] is None
    assert len(published(aws, DomainEvent.PARTICIPANT_JOINED, user_id=invitee.id)) == 2


def test_ending_a_meeting_makes_everyone_still_in_it_leave(
    meetings: Meetings, active: dict[str, Any], host: Any, invitee: Any, make_user: Any, aws: Any
) -> None:
    early_leaver = make_user()
    meetings.invite(host.headers, active["id"], early_leaver.id)
    for person in (host, invitee, early_leaver):
        meetings.ok(person.headers, active["id"], "join")
    meetings.ok(early_leaver.headers, active["id"], "leave")
    ended = meetings.ok(host.headers, active["id"], "end")
    participants = {p["user_id"]: p for p in meetings.participants(host.headers, active["id"])}
    for person in (host, invitee):
        assert participants[person.id]["status"] == "left"
        assert participants[person.id]["left_at"] == ended["ended_at"]
        [event] = published(aws, DomainEvent.PARTICIPANT_LEFT, meeting_id=active["id"], user_id=person.id)
        assert event["left_at"] == ended["ended_at"]
    assert len(published(aws, DomainEvent.PARTICIPANT_LEFT, user_id=early_leaver.id)) == 1
    assert meetings.participants(host.headers, active["id"], status="joined") == []
    assert_error(meetings.act(invitee.headers, active["id"], "leave"), 409, "not_joined")


def test_every_meeting_event_carries_its_contract(
    meetings: Meetings, active: dict[str, Any], host: Any, invitee: Any, aws: Any
) -> None:
    meetings.ok(invitee.headers, active["id"], "join")
    meetings.ok(host.headers, active["id"], "end")
    for event in (
        DomainEvent.MEETING_CREATED,
        DomainEvent.MEETING_STARTED,
        DomainEvent.MEETING_ENDED,
        DomainEvent.PARTICIPANT_JOINED,
        DomainEvent.PARTICIPANT_LEFT,
    ):
        assert len(published(aws, event, meeting_id=active["id"])) == 1, event
    sources = {detail_type: None for detail_type, _ in aws.events()}
    assert {"MeetingCreated", "MeetingStarted", "MeetingEnded", "ParticipantJoined", "ParticipantLeft"} <= set(sources)


def test_the_last_page_of_every_meeting_has_no_cursor(meetings: Meetings, admin: Any, host: Any) -> None:
    for days in (1, 2):
        meetings.create(host.headers, scheduled_at=future(days=days))
    response = meetings.client.get(MEETINGS, params={"scope": "all", "limit": 2}, headers=admin.headers)
    assert len(response.json()["items"]) == 2
    assert response.json()["next_cursor"] is None


# --- concurrency: one join or leave is one state change ------------------------------------------

CONCURRENT_CALLS = 50


def concurrently(app: Any, calls: int, request: Any) -> list[Any]:
    """``request(client)`` from ``calls`` threads at once, each through its own TestClient (its own
    event loop, as separate Lambda containers would be): the handlers really overlap."""
    import threading

    from fastapi.testclient import TestClient

    start = threading.Barrier(calls)
    responses: list[Any] = [None] * calls

    def run(index: int) -> None:
        with TestClient(app) as own_client:
            start.wait(timeout=60)
            responses[index] = request(own_client)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(response is not None for response in responses), "a request never answered"
    return responses


@pytest.fixture
def slow_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Participant reads take a real DynamoDB round trip (tens of ms), as they do in the cloud:
    in-process moto answers in microseconds and would hide a read-then-write race."""
    import time

    read = ParticipantModel.get.__func__  # type: ignore[attr-defined]

    def get_then_wait(cls: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return read(cls, *args, **kwargs)
        finally:
            time.sleep(0.02)

    monkeypatch.setattr(ParticipantModel, "get", classmethod(get_then_wait))


def audit_actions(meetings: Meetings, admin: Any, meeting_id: str) -> list[str]:
    response = meetings.client.get(
        "/api/v1/admin/audit-logs", params={"target_id": meeting_id, "limit": 100}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    return [entry["action"] for entry in response.json()["items"]]


def test_concurrent_joins_by_one_user_are_one_join_one_event_one_audit_entry(
    app: Any, meetings: Meetings, active: dict[str, Any], invitee: Any, admin: Any, aws: Any, slow_reads: None
) -> None:
    url = f"{MEETINGS}/{active['id']}/join"
    responses = concurrently(app, CONCURRENT_CALLS, lambda c: c.post(url, json=None, headers=invitee.headers))
    failures = [r.text for r in responses if r.status_code != 200]
    assert not failures, failures
    # Every repeated join still gets a usable token for the room.
    assert all(verify_livekit(r.json()["token"]).video.room == active["room_name"] for r in responses)
    assert len({r.json()["participant"]["joined_at"] for r in responses}) == 1
    assert len(published(aws, DomainEvent.PARTICIPANT_JOINED, meeting_id=active["id"], user_id=invitee.id)) == 1
    assert audit_actions(meetings, admin, active["id"]).count("meeting.joined") == 1


def test_concurrent_leaves_by_one_user_one_succeeds_the_others_are_409(
    app: Any, meetings: Meetings, active: dict[str, Any], invitee: Any, admin: Any, aws: Any, slow_reads: None
) -> None:
    meetings.ok(invitee.headers, active["id"], "join")
    url = f"{MEETINGS}/{active['id']}/leave"
    responses = concurrently(app, CONCURRENT_CALLS, lambda c: c.post(url, headers=invitee.headers))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (CONCURRENT_CALLS - 1), statuses
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "not_joined"
    assert len(published(aws, DomainEvent.PARTICIPANT_LEFT, meeting_id=active["id"], user_id=invitee.id)) == 1
    assert audit_actions(meetings, admin, active["id"]).count("meeting.left") == 1
