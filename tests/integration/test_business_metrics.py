"""The application and business metrics (spec 4.3) where their events happen: each one EMF metric
per event, with at most three dimensions (service and its own) and the ids in metadata; and the
LiveKit room, participant and track webhooks counted by the signed webhook receiver."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any

import pyotp
import pytest
from agents_meetings.clock import utcnow
from agents_meetings.events.publisher import EventBridgePublisher
from agents_meetings.identity.federation import FederatedSignIn
from agents_meetings.recordings.webhooks import LIVEKIT_EVENT_METRICS
from agents_meetings.settings import get_settings
from emf_support import EmfCapture, EmittedMetric, emf_fixture  # noqa: F401 - the emf fixture
from http_support import future

from tests.conftest import Account, MakeUser

pytestmark = pytest.mark.integration

WEBHOOK = "/api/v1/webhooks/livekit"


def one(metrics: list[EmittedMetric], name: str) -> EmittedMetric:
    found = [metric for metric in metrics if metric.name == name]
    assert len(found) == 1, (name, found)
    assert len(found[0].dimensions) <= 3, found[0]
    return found[0]


def own_dimensions(metric: EmittedMetric) -> dict[str, str]:
    return {name: value for name, value in metric.dimensions.items() if name != "service"}


def test_a_meeting_created_and_ended_counts_once_each_with_its_duration(
    client: Any, make_user: MakeUser, emf: EmfCapture, frozen_clock: Any
) -> None:
    host = make_user("host")
    emf.take()
    created = client.post(
        "/api/v1/meetings",
        json={"title": "Algebra", "scheduled_at": future(), "meeting_type": "classroom"},
        headers=host.headers,
    )
    assert created.status_code == 201, created.text
    meeting_id = created.json()["id"]
    metric = one(emf.take(), "MeetingsCreated")
    assert (metric.value, own_dimensions(metric), metric.metadata["meeting_id"]) == (
        1,
        {"meeting_type": "classroom"},
        meeting_id,
    )

    assert client.post(f"/api/v1/meetings/{meeting_id}/start", headers=host.headers).status_code == 200
    assert [m for m in emf.take() if m.name.startswith("Meeting")] == []
    frozen_clock.advance(seconds=754)
    assert client.post(f"/api/v1/meetings/{meeting_id}/end", headers=host.headers).status_code == 200
    emitted = emf.take()
    completed, duration = one(emitted, "MeetingsCompleted"), one(emitted, "MeetingDuration")
    assert completed.value == 1 and own_dimensions(completed) == {"meeting_type": "classroom"}
    assert (duration.unit, duration.value, duration.metadata["meeting_id"]) == ("Seconds", 754, meeting_id)
    # Ending again is refused: nothing more is counted.
    assert client.post(f"/api/v1/meetings/{meeting_id}/end", headers=host.headers).status_code == 409
    assert [m for m in emf.take() if m.name.startswith("Meeting")] == []


def test_a_password_sign_in_counts_once_and_a_refused_one_not_at_all(
    api: Any, make_user: MakeUser, emf: EmfCapture
) -> None:
    user = make_user()
    emf.take()
    assert api.login(user.email, "not-the-password").status_code == 401
    assert [m for m in emf.take() if m.name == "SignIns"] == []
    assert api.login(user.email).status_code == 200
    metric = one(emf.take(), "SignIns")
    assert (own_dimensions(metric), metric.metadata["user_id"]) == ({"method": "password"}, user.id)


@pytest.mark.parametrize(("provider", "method"), [("google", "oauth"), ("saml", "saml"), ("ldap", "ldap")])
def test_a_federated_sign_in_counts_by_its_method(
    make_user: MakeUser, data_key: str, emf: EmfCapture, provider: str, method: str
) -> None:
    user = make_user()
    emf.take()
    claims = {"sub": f"subject-{uuid.uuid4().hex[:8]}", "email": user.email, "email_verified": True}
    FederatedSignIn(EventBridgePublisher()).complete(provider, claims, {})
    metric = one(emf.take(), "SignIns")
    assert (own_dimensions(metric), metric.metadata["user_id"]) == ({"method": method}, user.id)


def test_a_second_factor_counts_by_method_once_per_accepted_code(
    client: Any, api: Any, make_user: MakeUser, data_key: str, emf: EmfCapture
) -> None:
    user: Account = make_user()
    started = client.post("/api/v1/auth/2fa/enable", headers=user.headers)
    secret = started.json()["secret"]
    verified = client.post(
        "/api/v1/auth/2fa/verify", json={"code": pyotp.TOTP(secret).at(utcnow())}, headers=user.headers
    )
    assert verified.status_code == 200, verified.text
    backup_code = verified.json()["backup_codes"][0]
    emf.take()

    def second_step(method: str, code: str) -> Any:
        challenge = api.login(user.email).json()["challenge_token"]
        return client.post(
            "/api/v1/auth/2fa/login", json={"challenge_token": challenge, "method": method, "code": code}
        )

    assert second_step("backup_code", "0000-0000").status_code == 401
    assert [m for m in emf.take() if m.name == "TwoFactorUsed"] == []
    assert second_step("backup_code", backup_code).status_code == 200
    metric = one(emf.take(), "TwoFactorUsed")
    assert (own_dimensions(metric), metric.metadata["user_id"]) == ({"method": "backup_code"}, user.id)


def test_each_search_query_counts_once_by_entity_type(client: Any, make_user: MakeUser, emf: EmfCapture) -> None:
    user = make_user("host")
    emf.take()
    for path, params, entity_type in (
        ("/api/v1/search", {"q": "algebra"}, "all"),
        ("/api/v1/search", {"q": "algebra", "type": "material"}, "material"),
        ("/api/v1/search/meetings", {"q": "algebra"}, "meeting"),
        ("/api/v1/search/transcripts", {"q": "algebra"}, "transcript"),
        ("/api/v1/search/users", {"q": "algebra"}, "user"),
    ):
        response = client.get(path, params=params, headers=user.headers)
        assert response.status_code == 200, (path, response.text)
        metric = one(emf.take(), "SearchQueries")
        assert own_dimensions(metric) == {"entity_type": entity_type}, path
    # A refused query is not one.
    assert client.get("/api/v1/search", params={"filters": "x:y"}, headers=user.headers).status_code == 422
    assert [m for m in emf.take() if m.name == "SearchQueries"] == []


# --- LiveKit webhooks ---------------------------------------------------------------------------


def signed_room_webhook(event: str, room: str = "meeting-abc", secret: str | None = None) -> tuple[str, str]:
    """A room, participant or track webhook as LiveKit sends it: WebhookEvent JSON, a JWT with the
    body's SHA-256 signed with the API secret."""
    from google.protobuf.json_format import MessageToJson
    from livekit.api.access_token import AccessToken
    from livekit.protocol import models, webhook

    settings = get_settings()
    message = webhook.WebhookEvent(event=event, id=f"EV_{uuid.uuid4().hex[:12]}", created_at=int(time.time()))
    message.room.CopyFrom(models.Room(sid="RM_1", name=room))
    if event.startswith(("participant_", "track_")):
        message.participant.CopyFrom(models.ParticipantInfo(sid="PA_1", identity="user-1"))
    if event.startswith("track_"):
        message.track.CopyFrom(models.TrackInfo(sid="TR_1", type=models.TrackType.AUDIO))
    body = MessageToJson(message)
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    key = settings.livekit_api_key or ""
    signing = secret or (settings.livekit_api_secret.get_secret_value() if settings.livekit_api_secret else "")
    return body, AccessToken(key, signing).with_sha256(digest).to_jwt()


def post_webhook(client: Any, body: str, token: str) -> Any:
    return client.post(
        WEBHOOK, content=body, headers={"Authorization": token, "Content-Type": "application/webhook+json"}
    )


@pytest.mark.parametrize("event", sorted(LIVEKIT_EVENT_METRICS))
def test_a_signed_room_participant_or_track_webhook_is_counted_once(
    aws: Any, client: Any, emf: EmfCapture, event: str
) -> None:
    emf.take()
    response = post_webhook(client, *signed_room_webhook(event, room="meeting-42"))
    assert response.status_code == 200, response.text
    assert response.json() == {"event": event, "outcome": "counted"}
    emitted = [m for m in emf.take() if m.name.startswith("LiveKit")]
    assert [m.name for m in emitted] == [LIVEKIT_EVENT_METRICS[event]]
    assert (emitted[0].value, own_dimensions(emitted[0]), emitted[0].metadata["room"]) == (1, {}, "meeting-42")


def test_other_livekit_events_are_answered_and_ignored_and_forged_ones_refused(
    aws: Any, client: Any, emf: EmfCapture
) -> None:
    emf.take()
    response = post_webhook(client, *signed_room_webhook("ingress_started"))
    assert response.status_code == 200 and response.json() == {"event": "ingress_started", "outcome": "ignored"}
    body, _ = signed_room_webhook("room_started")
    _, forged = signed_room_webhook("room_started", secret="another-secret-0123456789abcdefghijklmn")
    refused = post_webhook(client, body, forged)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_webhook_signature"
    assert [m for m in emf.take() if m.name.startswith("LiveKit")] == []


# --- notifications delivered per channel ---------------------------------------------------------


class SentPush:
    """A push provider that accepts everything (the platform has no FCM sender yet)."""

    available = True

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: Any) -> str:
        self.sent.append(message)
        return "sent"


def test_a_notification_counts_one_delivery_per_channel_that_reached_the_user(
    aws: Any, make_user: MakeUser, emf: EmfCapture
) -> None:
    from agents_meetings.email import SesEmailSender
    from agents_meetings.notifications.email import EmailDelivery, SqsEmailQueue
    from agents_meetings.notifications.preferences import PreferenceChanges, PreferenceService
    from agents_meetings.notifications.service import NotificationService
    from agents_meetings.notifications.websocket import WebSocketManager
    from notification_support import RecordingSender, drain_queue

    sqs = aws.client("sqs")
    queue = str(sqs.create_queue(QueueName="notification-email")["QueueUrl"])
    aws.client("ses").verify_email_identity(EmailAddress=get_settings().email_from)
    sender, push = RecordingSender(), SentPush()
    service = NotificationService(
        websockets=WebSocketManager(sender), email_queue=SqsEmailQueue(queue, client=sqs), push=push
    )
    user = make_user()
    PreferenceService().update(user.id, PreferenceChanges(channels={"push": True}))
    offline = make_user()
    WebSocketManager(sender).connect(user.id, "conn-online")
    emf.take()

    notification = service.create_notification(user.id, "recording_available", "Ready", "Your recording is ready")
    delivered = [m for m in emf.take() if m.name == "NotificationsDelivered"]
    assert sorted(own_dimensions(m)["channel"] for m in delivered) == ["in_app", "push"]  # email: queued only
    assert {m.metadata["notification_id"] for m in delivered} == {notification.id}
    assert len(push.sent) == 1

    [queued] = [m for m in drain_queue(sqs, queue) if m["notification_id"] == notification.id]
    outcome = EmailDelivery(SesEmailSender(client=aws.client("ses"))).deliver(
        queued["user_id"], queued["notification_id"], attempt=1, max_attempts=5
    )
    assert outcome.status == "sent"
    email = one(emf.take(), "NotificationsDelivered")
    assert (own_dimensions(email), email.metadata["notification_id"]) == ({"channel": "email"}, notification.id)

    # No connection, no push opt-in: nothing reached the user yet.
    service.create_notification(offline.id, "recording_available", "Ready", "Your recording is ready")
    assert [m for m in emf.take() if m.name == "NotificationsDelivered"] == []

    # A broadcast's fan-out: its in-app deliveries in one document (one per user reached).
    second = make_user()
    WebSocketManager(sender).connect(second.id, "conn-second")
    emf.take()
    service.batch_create_notifications(
        [user.id, second.id, offline.id], "system_maintenance_scheduled", "Maintenance", "Tonight"
    )
    [fan_out] = [m for m in emf.take() if m.name == "NotificationsDelivered"]
    assert (own_dimensions(fan_out), fan_out.value) == ({"channel": "in_app"}, 2)
