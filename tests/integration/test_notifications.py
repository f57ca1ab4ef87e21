"""Notifications (spec 1.2) through the HTTP API and the service, on moto: storage, the unread
count under concurrency, preferences, quiet hours, grouping, hourly caps, WebSocket delivery and
tickets, email through the queue and SES, unsubscribe links, the SSE stream, broadcasts."""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from agents_meetings.email import SesEmailSender
from agents_meetings.notifications import ids
from agents_meetings.notifications.email import EmailDelivery, SqsEmailQueue
from agents_meetings.notifications.preferences import PreferenceChanges, PreferenceService
from agents_meetings.notifications.service import NotificationService
from agents_meetings.notifications.websocket import TicketService, WebSocketManager
from agents_meetings.notifications.ws_routes import WebSocketRoutes
from agents_meetings.settings import get_settings
from agents_meetings.tables import NotificationModel, WsConnectionModel
from http_support import assert_error
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.botocore_stubber import BotocoreStubber
from moto.ses.models import ses_backends
from notification_support import RecordingSender, drain_queue

pytestmark = pytest.mark.integration

BASE = "/api/v1/notifications"


@pytest.fixture
def serialised_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB handles each request atomically; in-process moto does not: serialise like a server."""
    lock = threading.RLock()
    original = BotocoreStubber.__call__

    def one_request_at_a_time(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", one_request_at_a_time)


@pytest.fixture
def email_queue(aws: Any) -> str:
    return str(aws.client("sqs").create_queue(QueueName="notification-email")["QueueUrl"])


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def service(aws: Any, email_queue: str, sender: RecordingSender) -> NotificationService:
    return NotificationService(
        websockets=WebSocketManager(sender), email_queue=SqsEmailQueue(email_queue, client=aws.client("sqs"))
    )


@pytest.fixture
def ses(aws: Any) -> Any:
    aws.client("ses").verify_email_identity(EmailAddress=get_settings().email_from)
    return ses_backends[DEFAULT_ACCOUNT_ID][get_settings().aws_region]


def make(
    service: NotificationService, user_id: str, n: int = 1, type_: str = "account_approved", **kw: Any
) -> list[Any]:
    return [service.create_notification(user_id, type_, f"Title {i}", f"Message {i}", {"i": i}, **kw) for i in range(n)]


# --- the REST API -----------------------------------------------------------------------------


def test_a_user_lists_reads_and_deletes_only_their_own_notifications(
    client: Any, make_user: Any, service: NotificationService
) -> None:
    alice, bob = make_user(), make_user()
    mine = make(service, alice.id, 3)
    theirs = make(service, bob.id, 1)[0]
    listing = client.get(BASE, headers=alice.headers)
    assert listing.status_code == 200, listing.text
    assert [n["id"] for n in listing.json()["items"]] == [n.id for n in reversed(mine)]  # newest first
    assert client.get(f"{BASE}/unread-count", headers=alice.headers).json() == {"unread_count": 3}

    # Another user's notification does not exist for me.
    assert_error(client.post(f"{BASE}/{theirs.id}/read", headers=alice.headers), 404, "notification_not_found")
    assert_error(client.delete(f"{BASE}/{theirs.id}", headers=alice.headers), 404, "notification_not_found")
    assert NotificationModel.get(bob.id, theirs.id).is_read is False

    read = client.post(f"{BASE}/{mine[0].id}/read", headers=alice.headers)
    assert read.status_code == 200 and read.json()["is_read"] is True and read.json()["read_at"]
    assert client.post(f"{BASE}/{mine[0].id}/read", headers=alice.headers).status_code == 200  # idempotent
    assert client.get(f"{BASE}/unread-count", headers=alice.headers).json() == {"unread_count": 2}
    unread = client.get(BASE, params={"unread": "true"}, headers=alice.headers).json()["items"]
    assert {n["id"] for n in unread} == {mine[1].id, mine[2].id}

    assert client.delete(f"{BASE}/{mine[1].id}", headers=alice.headers).status_code == 204
    assert_error(client.delete(f"{BASE}/{mine[1].id}", headers=alice.headers), 404, "notification_not_found")
    all_read = client.post(f"{BASE}/read-all", headers=alice.headers)
    assert all_read.json() == {"marked_read": 1, "unread_count": 0}
    assert client.get(f"{BASE}/unread-count", headers=bob.headers).json() == {"unread_count": 1}


def test_listing_paginates_by_cursor_and_filters_by_category(
    client: Any, make_user: Any, service: NotificationService
) -> None:
    user = make_user()
    make(service, user.id, 5, "account_approved")
    make(service, user.id, 2, "announcement")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get(BASE, params=params, headers=user.headers).json()
        seen += [n["id"] for n in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7
    announcements = client.get(BASE, params={"category": "announcement"}, headers=user.headers).json()["items"]
    assert [n["type"] for n in announcements] == ["announcement", "announcement"]
    assert client.get(BASE, params={"category": "nonsense"}, headers=user.headers).status_code == 422
    assert_error(client.get(BASE, params={"cursor": "garbage!"}, headers=user.headers), 400, "invalid_cursor")
    assert client.get(BASE).status_code == 401


def test_expired_notifications_are_hidden_and_not_counted(
    client: Any, make_user: Any, service: NotificationService, frozen_clock: Any
) -> None:
    user = make_user()
    make(service, user.id, 1, expires_at=frozen_clock.now + timedelta(minutes=5))
    make(service, user.id, 1)
    assert service.get_unread_count(user.id) == 2
    frozen_clock.advance(minutes=6)
    assert service.get_unread_count(user.id) == 1
    assert len(client.get(BASE, headers=user.headers).json()["items"]) == 1


def test_unread_count_is_exact_under_concurrency(aws: Any, serialised_moto: None, service: NotificationService) -> None:
    user_id = "concurrent-user"
    existing = make(service, user_id, 10)
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(lambda i: make(service, user_id, 1)[0], range(20)))
        # Every existing one is marked read by three readers at once: each counts once.
        list(pool.map(lambda n: service.mark_as_read(n.id, user_id), [n for n in existing for _ in range(3)]))
    assert len({n.id for n in created}) == 20
    assert service.get_unread_count(user_id) == 20
    with ThreadPoolExecutor(max_workers=4) as pool:
        changed = list(pool.map(lambda _: service.mark_all_as_read(user_id), range(4)))
    assert sum(changed) == 20
    assert service.get_unread_count(user_id) == 0


# --- preferences, quiet hours, grouping, caps --------------------------------------------------


def test_preferences_round_trip_and_bad_input_changes_nothing(client: Any, make_user: Any) -> None:
    user = make_user()
    url = f"{BASE}/preferences"
    defaults = client.get(url, headers=user.headers).json()
    assert defaults["timezone"] == "UTC" and defaults["group_similar_notifications"] is True
    body = {
        "channels": {"email": False},
        "types": {"participant_joined": {"in_app": False}},
        "quiet_hours_start": "22:00",
        "quiet_hours_end": "07:00",
        "timezone": "Europe/Paris",
        "max_notifications_per_hour": 5,
    }
    saved = client.put(url, json=body, headers=user.headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["types"]["participant_joined"]["in_app"] is False
    assert saved.json()["quiet_hours_start"] == "22:00" and saved.json()["timezone"] == "Europe/Paris"
    for bad in (
        {"timezone": "Mars/Olympus"},
        {"quiet_hours_start": "25:00"},
        {"types": {"no_such_type": {"email": True}}},
        {"max_notifications_per_hour": 0},
        {"channels": {"fax": True}},
    ):
        assert client.put(url, json=bad, headers=user.headers).status_code == 422, bad
    assert client.get(url, headers=user.headers).json() == saved.json()
    cleared = client.put(
        url,
        json={"quiet_hours_start": None, "quiet_hours_end": None, "max_notifications_per_hour": None},
        headers=user.headers,
    )
    assert cleared.json()["quiet_hours_start"] is None and cleared.json()["max_notifications_per_hour"] is None


def test_quiet_hours_hold_email_in_the_users_timezone_until_they_end(
    aws: Any, service: NotificationService, email_queue: str, sender: RecordingSender, frozen_clock: Any
) -> None:
    user_id = "sleeper"
    PreferenceService().update(
        user_id, PreferenceChanges(quiet_hours_start="22:00", quiet_hours_end="07:00", timezone="America/New_York")
    )
    # 23:30 in New York (winter, UTC-5) is 04:30 UTC.
    frozen_clock.now = datetime(2030, 1, 15, 4, 30, tzinfo=UTC)
    WebSocketManager(sender).connect(user_id, "conn-sleeper")
    held = make(service, user_id, 1, "recording_available")[0]
    urgent = make(service, user_id, 1, "recording_available", priority="urgent")[0]
    stored = NotificationModel.get(user_id, held.id)
    assert stored.email_status == "held" and stored.realtime_status == "sent"  # in-app is not held back
    assert NotificationModel.get(user_id, urgent.id).email_status == "queued"  # urgent goes at once
    assert [m["notification_id"] for m in drain_queue(aws.client("sqs"), email_queue)] == [urgent.id]

    frozen_clock.now = datetime(2030, 1, 15, 11, 59, tzinfo=UTC)  # 06:59 local: still quiet
    assert service.release_held() == 0
    frozen_clock.now = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)  # 07:00 local
    assert service.release_held() == 1
    assert service.release_held() == 0  # released once
    assert [m["notification_id"] for m in drain_queue(aws.client("sqs"), email_queue)] == [held.id]
    assert NotificationModel.get(user_id, held.id).email_status == "queued"


def test_similar_notifications_collapse_into_one_inside_the_window(
    aws: Any, service: NotificationService, sender: RecordingSender, frozen_clock: Any
) -> None:
    host = "host-grouping"
    WebSocketManager(sender).connect(host, "conn-host")
    for name in ("Ann", "Ben", "Cy"):
        service.create_notification(
            host,
            "participant_joined",
            f"{name} joined",
            f"{name} joined Algebra.",
            {"meeting_id": "m1", "meeting_title": "Algebra", "user_name": name},
            group_key="participant_joined#m1",
        )
    items = list(NotificationModel.query(host))
    assert len(items) == 1
    assert items[0].group_count == 3 and items[0].message == "3 participants joined Algebra."
    assert [f["group_count"] for f in sender.notifications("conn-host")] == [1, 2, 3]  # the same id, updated
    assert service.get_unread_count(host) == 1
    # After the window a new group starts; so does one after the group was read.
    frozen_clock.advance(seconds=get_settings().notification_group_window_seconds + 1)
    make(service, host, 1, "participant_joined", group_key="participant_joined#m1")
    assert len(list(NotificationModel.query(host))) == 2
    PreferenceService().update(host, PreferenceChanges(group_similar_notifications=False))
    make(service, host, 2, "participant_joined", group_key="participant_joined#m1")
    assert len(list(NotificationModel.query(host))) == 4


def test_the_hourly_cap_limits_delivery_but_everything_is_stored(
    aws: Any, service: NotificationService, sender: RecordingSender, frozen_clock: Any
) -> None:
    user_id = "capped-user"
    PreferenceService().update(user_id, PreferenceChanges(max_notifications_per_hour=2))
    frozen_clock.now = datetime(2030, 3, 1, 10, 5, tzinfo=UTC)
    WebSocketManager(sender).connect(user_id, "conn-capped")
    created = make(service, user_id, 4)
    urgent = make(service, user_id, 1, priority="urgent")[0]
    assert len(sender.notifications("conn-capped")) == 3  # two, then the urgent one
    assert [NotificationModel.get(user_id, n.id).realtime_status for n in created] == [
        "sent",
        "sent",
        "capped",
        "capped",
    ]
    assert NotificationModel.get(user_id, urgent.id).realtime_status == "sent"
    assert service.get_unread_count(user_id) == 5
    frozen_clock.now = datetime(2030, 3, 1, 11, 0, tzinfo=UTC)  # a new hour
    make(service, user_id, 1)
    assert len(sender.notifications("conn-capped")) == 4


def test_a_redelivered_cause_creates_nothing_new(
    aws: Any, service: NotificationService, sender: RecordingSender
) -> None:
    WebSocketManager(sender).connect("dup-user", "conn-dup")
    first = service.create_notification("dup-user", "role_changed", "Role", "Changed", source_key="event-1")
    again = service.create_notification("dup-user", "role_changed", "Role", "Changed", source_key="event-1")
    assert first.id == again.id and len(list(NotificationModel.query("dup-user"))) == 1
    assert len(sender.notifications("conn-dup")) == 1
    service.delete_notification(first.id, "dup-user")
    service.create_notification("dup-user", "role_changed", "Role", "Changed", source_key="event-1")
    assert list(NotificationModel.query("dup-user")) == []  # deleted stays deleted


# --- WebSocket -------------------------------------------------------------------------------


def test_a_gone_connection_is_removed_and_never_retried(
    aws: Any, service: NotificationService, sender: RecordingSender
) -> None:
    manager = service.websockets
    manager.connect("ws-user", "alive")
    manager.connect("ws-user", "dead")
    sender.gone.add("dead")
    make(service, "ws-user", 1)
    assert len(sender.notifications("alive")) == 1
    assert sender.attempts["dead"] == 1
    assert manager.connections_of("ws-user") == ["alive"]
    make(service, "ws-user", 1)
    assert sender.attempts["dead"] == 1  # gone for good: never posted to again


def test_websocket_connect_needs_a_fresh_single_use_ticket(
    aws: Any, make_user: Any, sender: RecordingSender, frozen_clock: Any
) -> None:
    user = make_user()
    routes = WebSocketRoutes(WebSocketManager(sender), TicketService())
    connect = lambda conn, ticket: routes.handle(  # noqa: E731
        {
            "requestContext": {"routeKey": "$connect", "connectionId": conn},
            "queryStringParameters": ticket and {"ticket": ticket},
        }
    )["statusCode"]
    assert connect("c0", None) == 401
    ticket, _ = TicketService().issue(user.id)
    assert connect("c1", ticket) == 200
    assert connect("c2", ticket) == 401  # reused
    stale, ttl = TicketService().issue(user.id)
    frozen_clock.advance(seconds=ttl + 1)
    assert connect("c3", stale) == 401  # expired
    assert connect("c4", "made-up-ticket-value") == 401
    assert WsConnectionModel.get("c1").user_id == user.id
    assert [c.connection_id for c in WsConnectionModel.scan()] == ["c1"]


def test_websocket_messages_ping_and_subscribe_only_to_visible_meetings(
    client: Any, make_user: Any, sender: RecordingSender
) -> None:
    host, guest, stranger = make_user("host"), make_user(), make_user()
    meeting = client.post(
        "/api/v1/meetings", json={"title": "Physics", "scheduled_at": "2030-01-01T10:00:00Z"}, headers=host.headers
    ).json()
    assert client.post(
        f"/api/v1/meetings/{meeting['id']}/participants", json={"user_ids": [guest.id]}, headers=host.headers
    ).status_code in (200, 201)
    manager = WebSocketManager(sender)
    routes = WebSocketRoutes(manager, TicketService())
    for conn, user in (("g", guest), ("s", stranger)):
        manager.connect(user.id, conn)

    def say(conn: str, body: str) -> dict[str, Any]:
        return routes.handle({"requestContext": {"routeKey": "$default", "connectionId": conn}, "body": body})

    assert '"pong"' in say("g", '{"action": "ping"}')["body"]
    assert say("g", "not json")["statusCode"] == 400
    assert say("g", '{"action": "dance"}')["statusCode"] == 400
    assert say("s", f'{{"action": "subscribe", "meeting_id": "{meeting["id"]}"}}')["statusCode"] == 404
    assert say("g", f'{{"action": "subscribe", "meeting_id": "{meeting["id"]}"}}')["statusCode"] == 200
    result = manager.broadcast_to_meeting(meeting["id"], {"event": "participant_joined"})
    assert result.sent == 1 and sender.frames["g"][-1]["type"] == "meeting"
    assert say("g", f'{{"action": "unsubscribe", "meeting_id": "{meeting["id"]}"}}')["statusCode"] == 200
    assert manager.broadcast_to_meeting(meeting["id"], {"event": "x"}).sent == 0
    routes.handle({"requestContext": {"routeKey": "$disconnect", "connectionId": "g"}})
    assert manager.connections_of(guest.id) == []


# --- email -------------------------------------------------------------------------------------


def test_emails_go_through_the_queue_to_ses_with_an_unsubscribe_link(
    client: Any, make_user: Any, service: NotificationService, email_queue: str, ses: Any, aws: Any
) -> None:
    user = make_user()
    notification = make(service, user.id, 1, "recording_available")[0]
    [queued] = drain_queue(aws.client("sqs"), email_queue)
    outcome = EmailDelivery(SesEmailSender(client=aws.client("ses"))).deliver(
        queued["user_id"], queued["notification_id"], attempt=1, max_attempts=5
    )
    assert outcome.status == "sent"
    [mail] = [m for m in ses.sent_messages if user.email in m.destinations["ToAddresses"]]
    assert "Title 0" in mail.subject and "Message 0" in mail.body
    assert NotificationModel.get(user.id, notification.id).email_status == "sent"
    # Delivered again (SQS redelivery): not sent twice.
    assert (
        EmailDelivery(SesEmailSender(client=aws.client("ses")))
        .deliver(user.id, notification.id, attempt=2, max_attempts=5)
        .status
        == "skipped"
    )

    link = re.search(r"(https?://\S+/api/v1/notifications/unsubscribe)\?token=([A-Za-z0-9_\-.%]+)", mail.body)
    assert link and link.group(1).startswith(get_settings().public_app_url), mail.body
    token = unquote(link.group(2))
    assert client.get(f"{BASE}/unsubscribe", params={"token": token}).json() == {
        "unsubscribed": True,
        "category": "meeting",
    }
    make(service, user.id, 1, "recording_available")
    assert drain_queue(aws.client("sqs"), email_queue) == []  # meeting emails are off now
    assert client.get(f"{BASE}/preferences", headers=user.headers).json()["categories"]["meeting"]["email"] is False
    assert_error(
        client.get(f"{BASE}/unsubscribe", params={"token": token[:-4] + "AAAA"}), 400, "invalid_unsubscribe_token"
    )


def test_a_failing_email_is_retried_then_marked_failed(make_user: Any, service: NotificationService) -> None:
    user = make_user()
    notification = make(service, user.id, 1, "account_approved")[0]

    class BrokenSes:
        def send(self, message: Any) -> str:
            raise ConnectionError("SES is down")

    delivery = EmailDelivery(BrokenSes())
    for attempt in (1, 2):
        with pytest.raises(ConnectionError):
            delivery.deliver(user.id, notification.id, attempt=attempt, max_attempts=2)
        stored = NotificationModel.get(user.id, notification.id)
        assert stored.email_attempts == attempt and "SES is down" in stored.email_error
    assert NotificationModel.get(user.id, notification.id).email_status == "failed"


# --- SSE ---------------------------------------------------------------------------------------


def test_the_sse_stream_resumes_after_last_event_id_without_loss(
    client: Any, make_user: Any, service: NotificationService
) -> None:
    user = make_user()
    url = f"{BASE}/stream"
    first = client.get(url, headers=user.headers)
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/event-stream")
    position = _sse_ids(first.text)[-1]
    created = make(service, user.id, 3)
    resumed = client.get(url, params={"wait": 0}, headers={**user.headers, "Last-Event-ID": position})
    assert _sse_ids(resumed.text) == [n.id for n in created]
    assert "retry: 1000" in resumed.text
    later = make(service, user.id, 1)
    again = client.get(url, params={"wait": 0}, headers={**user.headers, "Last-Event-ID": created[-1].id})
    assert _sse_ids(again.text) == [later[0].id]
    idle = client.get(url, params={"wait": 0}, headers={**user.headers, "Last-Event-ID": later[0].id})
    assert _sse_ids(idle.text) == [] and "retry:" in idle.text
    assert_error(client.get(url, headers={**user.headers, "Last-Event-ID": "nonsense"}), 400, "invalid_last_event_id")


def _sse_ids(text: str) -> list[str]:
    return [line[4:] for line in text.splitlines() if line.startswith("id: ")]


# --- broadcasts --------------------------------------------------------------------------------


def test_batch_create_writes_25_per_call_and_retries_unprocessed_items(
    aws: Any, service: NotificationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [f"batch-user-{i}" for i in range(60)]
    connection = NotificationModel._get_connection().connection
    original = connection.dispatch
    refused = {"done": False}

    def flaky(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "BatchWriteItem" and not refused["done"]:
            refused["done"] = True
            table, requests = next(iter(kwargs["RequestItems"].items()))
            original(operation, {**kwargs, "RequestItems": {table: requests[:20]}})
            return {"UnprocessedItems": {table: requests[20:]}}
        return original(operation, kwargs)

    monkeypatch.setattr(connection, "dispatch", flaky)
    monkeypatch.setattr("agents_meetings.notifications.creation.time.sleep", lambda _: None)
    result = service.batch_create_notifications(users, "announcement", "Hello", "Everyone", source_key="ann-1")
    assert result.retried_items == 5 and result.write_calls >= 4
    assert all(service.get_unread_count(u) == 1 for u in users)
    again = service.batch_create_notifications(users, "announcement", "Hello", "Everyone", source_key="ann-1")
    assert again.notification_ids == result.notification_ids
    assert all(len(list(NotificationModel.query(u))) == 1 for u in users)


def test_admins_announce_to_a_role_through_the_bus(client: Any, admin_headers: Any, make_user: Any, aws: Any) -> None:
    teacher = make_user("teacher")
    assert_error(
        client.post("/api/v1/admin/announcements", json={"title": "x", "message": "y"}, headers=teacher.headers), 403
    )
    accepted = client.post(
        "/api/v1/admin/announcements",
        json={"title": "Term", "message": "Starts Monday", "audience": "teacher"},
        headers=admin_headers,
    )
    assert accepted.status_code == 202, accepted.text
    [event] = aws.events_of("AnnouncementPublished")
    assert event["audience"] == "teacher" and event["announcement_id"] == accepted.json()["announcement_id"]
    assert (
        client.post(
            "/api/v1/admin/announcements", json={"title": "", "message": "y"}, headers=admin_headers
        ).status_code
        == 422
    )


def test_ids_are_time_ordered_even_on_a_frozen_clock(frozen_clock: Any) -> None:
    made = [ids.new_id() for _ in range(50)]
    assert made == sorted(made) and len(set(made)) == 50 and all(ids.is_valid(i) for i in made)


def test_a_redelivered_cause_is_counted_once_in_a_group(aws: Any, service: NotificationService) -> None:
    def joined(source: str) -> Any:
        return service.create_notification(
            "grouped-host",
            "participant_joined",
            "Joined",
            "Joined.",
            {"meeting_title": "Art"},
            group_key="participant_joined#m9",
            source_key=source,
        )

    first = joined("event-a")
    joined("event-b")
    joined("event-b")  # SQS delivered it twice
    [only] = list(NotificationModel.query("grouped-host"))
    assert only.id == first.id and only.group_count == 2 and only.message == "2 participants joined Art."


def test_a_group_counts_distinct_participants_never_more_than_the_meeting_has(
    aws: Any, service: NotificationService, serialised_moto: None
) -> None:
    """Four participants, each leaving four times (rejoins, redelivered end-of-meeting leaves), the
    events handled concurrently by several workers: "4 participants left", never 16."""
    people = ["ann", "ben", "cy", "dee"]

    def left(cause: int) -> Any:
        person = people[cause % len(people)]
        return service.create_notification(
            "group-host",
            "participant_left",
            f"{person} left",
            f"{person} left Algebra.",
            {"meeting_id": "m4", "meeting_title": "Algebra", "user_id": person, "user_name": person},
            group_key="participant_left#m4",
            source_key=f"left-event-{cause}",
        )

    left(0)  # the group's first notification
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(left, range(1, 16)))
    [only] = list(NotificationModel.query("group-host"))
    assert only.group_count == 4 and only.title == "4 participants left"
    assert only.message == "4 participants left Algebra."
    assert sorted(only.data["grouped_user_ids"]) == sorted(people)


def test_send_notification_by_id_redelivers_a_stored_one(
    aws: Any, service: NotificationService, sender: RecordingSender
) -> None:
    stored = service.create_notification("resend-user", "role_changed", "Role", "Changed", deliver=False)
    assert stored is not None and NotificationModel.get("resend-user", stored.id).delivered_at is None
    service.websockets.connect("resend-user", "conn-resend")
    report = service.send_notification(stored.id)
    assert report.realtime == "sent" and report.email == "queued"
    assert [n["id"] for n in sender.notifications("conn-resend")] == [stored.id]
    with pytest.raises(Exception, match="not found"):
        service.send_notification("0000000000000000deadbeef")


def test_websocket_messages_count_against_the_senders_rate_limit(
    aws: Any, make_user: Any, sender: RecordingSender, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents_meetings.ratelimit.service import reset_rate_limiting
    from agents_meetings.settings import reset_settings

    user = make_user()  # a participant: 200 requests per minute (spec 2.3)
    routes = WebSocketRoutes(WebSocketManager(sender), TicketService())
    ticket, _ = TicketService().issue(user.id)
    connected = routes.handle(
        {
            "requestContext": {"routeKey": "$connect", "connectionId": "busy"},
            "queryStringParameters": {"ticket": ticket},
        }
    )
    assert connected["statusCode"] == 200 and WsConnectionModel.get("busy").role == "participant"
    monkeypatch.setenv("RATE_LIMIT_ENABLED", "true")
    reset_settings()
    reset_rate_limiting()
    try:
        ping = {"requestContext": {"routeKey": "$default", "connectionId": "busy"}, "body": '{"action": "ping"}'}
        statuses = [routes.handle(ping)["statusCode"] for _ in range(200)]
        assert set(statuses) == {200}
        refused = routes.handle(ping)
        assert refused["statusCode"] == 429
        body = json.loads(refused["body"])
        assert body["code"] == "rate_limited" and body["limit"] == 200 and body["retry_after_seconds"] >= 1
        assert "participant limit allows 200" in body["message"]
        frozen_clock.advance(minutes=2)  # a new window: allowed again
        assert routes.handle(ping)["statusCode"] == 200
    finally:
        monkeypatch.setenv("RATE_LIMIT_ENABLED", "false")
        reset_settings()
        reset_rate_limiting()
