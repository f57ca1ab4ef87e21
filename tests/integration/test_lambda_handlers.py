"""Each functions/<folder>/handler.py invoked as Lambda would: API Gateway proxy events through
Mangum, SQS batches of EventBridge events into the statistics worker, and the outbox redrive job."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.http import dependencies
from agents_meetings.observability import logger
from agents_meetings.tables import AuditLogModel, EventOutboxModel, UserStatisticsModel
from http_support import FakeLambdaContext, api_gateway_event, eventbridge_event, published, sqs_event

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:No application metrics to publish")]

PASSWORD = "Correct-Horse-Battery-7"  # meets the password policy (spec 3.1)
Loader = Callable[[str], ModuleType]


def invoke(module: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = module.handler(event, FakeLambdaContext())
    return response


def header(response: dict[str, Any], name: str) -> str | None:
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    multi = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
    return headers.get(name.lower()) or (multi.get(name.lower()) or [None])[0]


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


@pytest.fixture
def api_functions(aws: Any, load_handler: Loader) -> dict[str, ModuleType]:
    return {name: load_handler(name) for name in ("auth", "users", "meetings", "health", "docs")}


def register_and_login(functions: dict[str, ModuleType], email: str) -> tuple[str, dict[str, str]]:
    registered = invoke(
        functions["auth"],
        api_gateway_event(
            "POST", "/api/v1/auth/register", body={"email": email, "password": PASSWORD, "full_name": "A"}
        ),
    )
    assert registered["statusCode"] == 201, registered
    login = invoke(
        functions["auth"], api_gateway_event("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD})
    )
    assert login["statusCode"] == 200, login
    return body(registered)["id"], {"Authorization": f"Bearer {body(login)['access_token']}"}


# --- API functions ------------------------------------------------------------------------------


def test_health_function_answers_through_api_gateway(api_functions: dict[str, ModuleType]) -> None:
    response = invoke(api_functions["health"], api_gateway_event("GET", "/api/v1/health", request_id="req-health-1"))
    assert response["statusCode"] == 200
    assert body(response)["status"] == "ok" and body(response)["checks"] == {"database": "ok"}
    assert header(response, "X-Request-Id") == "req-health-1"
    assert header(response, "Content-Type") == "application/json"
    assert response["isBase64Encoded"] is False


def test_the_request_id_is_api_gateways_and_the_log_correlation_id(api_functions: dict[str, ModuleType]) -> None:
    event = api_gateway_event("GET", "/api/v1/health", request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
    event["headers"]["X-Request-Id"] = "spoofed-by-the-caller"
    response = invoke(api_functions["health"], event)
    assert header(response, "X-Request-Id") == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert logger.get_correlation_id() == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


def test_auth_function_registers_through_mangum_and_audits_the_caller(
    api_functions: dict[str, ModuleType], aws: Any
) -> None:
    event = api_gateway_event(
        "POST",
        "/api/v1/auth/register",
        resource="/api/v1/auth/{proxy+}",
        body={"email": "Lambda@Example.com", "password": PASSWORD, "full_name": "Lambda User"},
        request_id="req-register-1",
        source_ip="198.51.100.23",
    )
    response = invoke(api_functions["auth"], event)
    assert response["statusCode"] == 201, response
    user = body(response)
    assert user["email"] == "lambda@example.com" and user["role"] == "admin"
    assert header(response, "X-Request-Id") == "req-register-1"
    assert published(aws, DomainEvent.USER_REGISTERED, user_id=user["id"])
    [entry] = list(AuditLogModel.by_target.query(user["id"]))
    assert (entry.action, entry.source_ip, entry.request_id) == ("user.registered", "198.51.100.23", "req-register-1")


def test_an_error_through_mangum_keeps_the_shape_and_request_id(api_functions: dict[str, ModuleType]) -> None:
    event = api_gateway_event(
        "POST", "/api/v1/auth/login", body={"email": "nobody@example.com", "password": "x" * 8}, request_id="req-401"
    )
    response = invoke(api_functions["auth"], event)
    assert response["statusCode"] == 401
    error = body(response)["error"]
    assert error["code"] == "invalid_credentials" and error["request_id"] == "req-401"
    assert header(response, "X-Request-Id") == "req-401"


def test_a_token_from_the_auth_function_works_on_the_others(api_functions: dict[str, ModuleType]) -> None:
    user_id, headers = register_and_login(api_functions, "admin@example.com")
    me = invoke(api_functions["users"], api_gateway_event("GET", "/api/v1/users/me", headers=headers))
    assert me["statusCode"] == 200 and body(me)["id"] == user_id
    created = invoke(
        api_functions["meetings"],
        api_gateway_event(
            "POST",
            "/api/v1/meetings",
            headers=headers,
            body={"title": "Through Lambda", "scheduled_at": "2031-01-01T10:00:00Z"},
        ),
    )
    assert created["statusCode"] == 201, created
    listed = invoke(
        api_functions["meetings"],
        api_gateway_event("GET", "/api/v1/meetings?status=scheduled&limit=5", headers=headers),
    )
    assert [m["id"] for m in body(listed)["items"]] == [body(created)["id"]]


@pytest.mark.parametrize(
    ("function", "path"),
    [
        ("auth", "/api/v1/meetings"),
        ("users", "/api/v1/auth/login"),
        ("meetings", "/api/v1/users/me"),
        ("health", "/docs"),
    ],
)
def test_each_api_function_serves_only_its_own_routes(
    api_functions: dict[str, ModuleType], function: str, path: str
) -> None:
    response = invoke(api_functions[function], api_gateway_event("GET", path))
    assert response["statusCode"] == 404
    assert body(response)["error"]["code"] == "route_not_found"


def test_docs_function_serves_the_merged_openapi_and_the_uis(api_functions: dict[str, ModuleType]) -> None:
    openapi = invoke(api_functions["docs"], api_gateway_event("GET", "/api/openapi.json"))
    assert openapi["statusCode"] == 200
    paths = body(openapi)["paths"]
    assert {"/api/v1/auth/login", "/api/v1/users/me", "/api/v1/meetings", "/api/v1/health"} <= set(paths)
    for page in ("/docs", "/redoc"):
        response = invoke(api_functions["docs"], api_gateway_event("GET", page))
        assert response["statusCode"] == 200 and "/api/openapi.json" in response["body"]


def test_api_functions_without_docs_do_not_serve_openapi(api_functions: dict[str, ModuleType]) -> None:
    for name in ("auth", "users", "meetings", "health"):
        assert invoke(api_functions[name], api_gateway_event("GET", "/api/openapi.json"))["statusCode"] == 404


# --- statistics worker ----------------------------------------------------------------------------


def stats(user_id: str) -> tuple[int, int, int]:
    try:
        item = UserStatisticsModel.get(user_id)
    except UserStatisticsModel.DoesNotExist:
        return (0, 0, 0)
    return (int(item.meetings_hosted), int(item.meetings_attended), int(item.attended_seconds))


def meeting_events(meeting: str = "m-1", host: str = "host-1", user: str = "user-1") -> list[dict[str, Any]]:
    return [
        eventbridge_event(
            "ParticipantJoined",
            {"meeting_id": meeting, "user_id": user, "host_id": host, "joined_at": "2031-01-01T10:00:00Z"},
        ),
        eventbridge_event(
            "ParticipantJoined",
            {"meeting_id": meeting, "user_id": host, "host_id": host, "joined_at": "2031-01-01T09:59:00Z"},
        ),
        eventbridge_event(
            "ParticipantLeft",
            {
                "meeting_id": meeting,
                "user_id": user,
                "joined_at": "2031-01-01T10:00:00Z",
                "left_at": "2031-01-01T10:30:00Z",
            },
        ),
        eventbridge_event(
            "MeetingEnded",
            {
                "meeting_id": meeting,
                "host_id": host,
                "started_at": "2031-01-01T09:58:00Z",
                "ended_at": "2031-01-01T10:31:00Z",
            },
        ),
    ]


@pytest.fixture
def worker(aws: Any, load_handler: Loader) -> ModuleType:
    return load_handler("workers/user_statistics")


def test_the_worker_turns_meeting_events_into_user_statistics(worker: ModuleType) -> None:
    result = invoke(worker, sqs_event(*(json.dumps(e) for e in meeting_events())))
    assert result == {"batchItemFailures": []}
    assert stats("user-1") == (0, 1, 1800)
    assert stats("host-1") == (1, 0, 0), "hosting counts when the meeting ends, not as attendance"


def test_the_same_event_delivered_twice_is_applied_once(worker: ModuleType) -> None:
    events = meeting_events()
    assert invoke(worker, sqs_event(*(json.dumps(e) for e in events))) == {"batchItemFailures": []}
    assert invoke(worker, sqs_event(*(json.dumps(e) for e in events))) == {"batchItemFailures": []}
    assert invoke(worker, sqs_event(json.dumps(events[2]), json.dumps(events[2]))) == {"batchItemFailures": []}
    assert stats("user-1") == (0, 1, 1800)
    assert stats("host-1") == (1, 0, 0)


def test_a_second_meeting_adds_up(worker: ModuleType) -> None:
    invoke(worker, sqs_event(*(json.dumps(e) for e in meeting_events(meeting="m-1"))))
    invoke(worker, sqs_event(*(json.dumps(e) for e in meeting_events(meeting="m-2"))))
    assert stats("user-1") == (0, 2, 3600)
    assert stats("host-1") == (2, 0, 0)


def test_a_bad_record_is_reported_and_the_good_ones_are_applied(worker: ModuleType) -> None:
    good = meeting_events()
    missing_user = eventbridge_event("ParticipantLeft", {"meeting_id": "m-1", "joined_at": "x", "left_at": "y"})
    batch = sqs_event(json.dumps(good[0]), "{this is not json", json.dumps(missing_user), json.dumps(good[3]))
    result = invoke(worker, batch)
    failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
    assert failed == {batch["Records"][1]["messageId"], batch["Records"][2]["messageId"]}
    assert stats("user-1") == (0, 1, 0)
    assert stats("host-1") == (1, 0, 0)


def test_events_the_worker_does_not_use_are_acknowledged_and_ignored(worker: ModuleType) -> None:
    other = eventbridge_event("UserApproved", {"user_id": "user-1", "approved_by": "admin-1"})
    assert invoke(worker, sqs_event(json.dumps(other))) == {"batchItemFailures": []}
    assert stats("user-1") == (0, 0, 0)


def test_statistics_show_in_the_users_api(worker: ModuleType, api_functions: dict[str, ModuleType]) -> None:
    user_id, headers = register_and_login(api_functions, "stats@example.com")
    invoke(worker, sqs_event(*(json.dumps(e) for e in meeting_events(user=user_id))))
    response = invoke(api_functions["users"], api_gateway_event("GET", "/api/v1/users/me/statistics", headers=headers))
    assert body(response) == {
        "user_id": user_id,
        "meetings_hosted": 0,
        "meetings_attended": 1,
        "attended_seconds": 1800,
    }


def test_events_published_by_the_api_feed_the_worker_end_to_end(
    client: Any, make_user: Any, worker: ModuleType, aws: Any
) -> None:
    """The captured bus events, wrapped as the user-statistics rule's queue would deliver them."""
    host, guest = make_user("host"), make_user()
    meeting = client.post(
        "/api/v1/meetings", json={"title": "e2e", "scheduled_at": "2031-01-01T10:00:00Z"}, headers=host.headers
    ).json()
    client.post(f"/api/v1/meetings/{meeting['id']}/participants", json={"user_ids": [guest.id]}, headers=host.headers)
    client.post(f"/api/v1/meetings/{meeting['id']}/start", headers=host.headers)
    for person in (host, guest):
        client.post(f"/api/v1/meetings/{meeting['id']}/join", headers=person.headers)
    client.post(f"/api/v1/meetings/{meeting['id']}/end", headers=host.headers)
    wanted = {"MeetingEnded", "ParticipantJoined", "ParticipantLeft"}
    records = [json.dumps(eventbridge_event(t, d, event_id=d["event_id"])) for t, d in aws.events() if t in wanted]
    assert len(records) == 5
    assert invoke(worker, sqs_event(*records)) == {"batchItemFailures": []}
    assert stats(guest.id)[:2] == (0, 1)
    assert stats(host.id)[:2] == (1, 0)


def test_leaving_and_rejoining_a_meeting_counts_one_meeting_attended_and_both_stays(
    client: Any, make_user: Any, worker: ModuleType, aws: Any, frozen_clock: Any
) -> None:
    host, guest = make_user("host"), make_user()
    meeting = client.post(
        "/api/v1/meetings", json={"title": "twice", "scheduled_at": "2031-01-01T10:00:00Z"}, headers=host.headers
    ).json()
    client.post(f"/api/v1/meetings/{meeting['id']}/participants", json={"user_ids": [guest.id]}, headers=host.headers)
    client.post(f"/api/v1/meetings/{meeting['id']}/start", headers=host.headers)
    for _ in range(2):
        assert client.post(f"/api/v1/meetings/{meeting['id']}/join", headers=guest.headers).status_code == 200
        frozen_clock.advance(minutes=5)
        assert client.post(f"/api/v1/meetings/{meeting['id']}/leave", headers=guest.headers).status_code == 200
    wanted = {"ParticipantJoined", "ParticipantLeft"}
    records = [json.dumps(eventbridge_event(t, d, event_id=d["event_id"])) for t, d in aws.events() if t in wanted]
    assert len(records) == 4
    assert invoke(worker, sqs_event(*records)) == {"batchItemFailures": []}
    assert stats(guest.id) == (0, 1, 600)


def test_attended_time_is_the_time_between_join_and_leave(
    client: Any, make_user: Any, worker: ModuleType, aws: Any, frozen_clock: Any
) -> None:
    host, guest = make_user("host"), make_user()
    meeting = client.post(
        "/api/v1/meetings", json={"title": "timed", "scheduled_at": "2031-01-01T10:00:00Z"}, headers=host.headers
    ).json()
    client.post(f"/api/v1/meetings/{meeting['id']}/participants", json={"user_ids": [guest.id]}, headers=host.headers)
    client.post(f"/api/v1/meetings/{meeting['id']}/start", headers=host.headers)
    joined = client.post(f"/api/v1/meetings/{meeting['id']}/join", headers=guest.headers).json()["participant"]
    frozen_clock.advance(minutes=10, seconds=30)
    left = client.post(f"/api/v1/meetings/{meeting['id']}/leave", headers=guest.headers).json()
    assert (joined["joined_at"], left["left_at"]) != (None, None)
    wanted = {"ParticipantJoined", "ParticipantLeft"}
    records = [json.dumps(eventbridge_event(t, d, event_id=d["event_id"])) for t, d in aws.events() if t in wanted]
    assert invoke(worker, sqs_event(*records)) == {"batchItemFailures": []}
    assert stats(guest.id) == (0, 1, 630)


# --- outbox -------------------------------------------------------------------------------------


class RefusingEventBridge:
    """An EventBridge client that refuses every entry, as during a partial outage."""

    def __init__(self) -> None:
        self.attempts = 0

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.attempts += 1
        return {
            "FailedEntryCount": len(Entries),
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "simulated outage"} for _ in Entries],
        }


def test_a_refused_event_is_parked_in_the_outbox_and_redriven(
    api_functions: dict[str, ModuleType], load_handler: Loader, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusing = RefusingEventBridge()
    monkeypatch.setattr(dependencies.event_publisher(), "_client", refusing)
    response = invoke(
        api_functions["auth"],
        api_gateway_event(
            "POST", "/api/v1/auth/register", body={"email": "o@example.com", "password": PASSWORD, "full_name": "O"}
        ),
    )
    assert response["statusCode"] == 201, "the request succeeds; the event waits in the outbox"
    user_id = body(response)["id"]
    assert refusing.attempts == 3
    assert published(aws, DomainEvent.USER_REGISTERED) == []
    [parked] = list(EventOutboxModel.scan())
    assert (parked.detail_type, parked.source, parked.attempts) == ("UserRegistered", "agents-meetings.users", 3)
    assert "simulated outage" in (parked.last_error or "")
    assert json.loads(parked.detail)["user_id"] == user_id

    redrive = load_handler("jobs/outbox_redrive")
    assert redrive.handler({}, FakeLambdaContext()) == {"sent": 1, "failed": 0}
    assert list(EventOutboxModel.scan()) == []
    [event] = published(aws, DomainEvent.USER_REGISTERED, user_id=user_id)
    assert event["event_id"] == parked.id, "the same event, not a new one"


def test_an_event_still_refused_stays_in_the_outbox(
    aws: Any, load_handler: Loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents_meetings.events.publisher import EventBridgePublisher

    EventBridgePublisher(client=RefusingEventBridge()).publish(
        DomainEvent.USER_APPROVED, {"user_id": "u-1", "approved_by": "a-1"}
    )
    redrive = load_handler("jobs/outbox_redrive")
    monkeypatch.setattr(redrive.publisher, "_client", RefusingEventBridge())
    assert redrive.handler({}, FakeLambdaContext()) == {"sent": 0, "failed": 1}
    [parked] = list(EventOutboxModel.scan())
    assert parked.attempts == 4 and parked.last_error == "simulated outage"
    monkeypatch.setattr(redrive.publisher, "_client", aws.client("events"))
    assert redrive.handler({}, FakeLambdaContext()) == {"sent": 1, "failed": 0}
    assert [d["user_id"] for d in published(aws, DomainEvent.USER_APPROVED)] == ["u-1"]


def test_a_transport_failure_also_parks_the_event(aws: Any) -> None:
    from agents_meetings.events.publisher import EventBridgePublisher

    class Unreachable:
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            raise ConnectionError("endpoint unreachable")

    event_id = EventBridgePublisher(client=Unreachable()).publish(
        DomainEvent.MEETING_CREATED,
        {
            "meeting_id": "m",
            "host_id": "h",
            "title": "t",
            "scheduled_at": "2031-01-01T00:00:00Z",
            "meeting_type": "regular",
        },
    )
    parked = EventOutboxModel.get(event_id)
    assert parked.detail_type == "MeetingCreated" and "endpoint unreachable" in (parked.last_error or "")
