"""Notification emails: templates (plain text + HTML with an unsubscribe link), the SQS queue the
email worker drains, the worker's send step, and the signed unsubscribe token.

A notification that should be emailed is queued (``EmailQueue``); the worker sends it through the
``EmailSender`` port (``agents_meetings.email``: SES), retried by SQS on failure and parked in the
DLQ after the last attempt, with the outcome on the notification itself (``email_status``:
queued -> sent | failed).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import quote

from jose import JWTError, jwt
from pynamodb.exceptions import DoesNotExist

from agents_meetings.aws_clients import aws_client
from agents_meetings.clock import utcnow
from agents_meetings.email import EmailMessage, EmailSender
from agents_meetings.errors import InvalidRequest
from agents_meetings.identity.tokens import ALGORITHM, _signing_key
from agents_meetings.notifications.catalog import type_info
from agents_meetings.notifications.conditions import update_if_present
from agents_meetings.observability import correlation_metadata, emit_dimensioned, logger, metrics
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import NotificationModel, UserModel

UNSUBSCRIBE_AUDIENCE = "agents-meetings-unsubscribe"
UNSUBSCRIBE_TTL = timedelta(days=180)
UNSUBSCRIBE_PATH = "/api/v1/notifications/unsubscribe"


# --- the queue ---------------------------------------------------------------------------------


class EmailQueue(Protocol):
    def enqueue(self, user_id: str, notification_id: str) -> None: ...


def message_attributes() -> dict[str, dict[str, str]]:
    """The sender's correlation id and trace header, as SQS message attributes (the worker adopts them)."""
    return {name: {"DataType": "String", "StringValue": value} for name, value in correlation_metadata().items()}


class SqsEmailQueue:
    def __init__(self, queue_url: str, settings: Settings | None = None, client: Any = None):
        settings = settings or get_settings()
        self._url = queue_url
        self._client = client or aws_client("sqs", settings=settings)

    def enqueue(self, user_id: str, notification_id: str) -> None:
        body = json.dumps({"user_id": user_id, "notification_id": notification_id})
        self._client.send_message(QueueUrl=self._url, MessageBody=body, MessageAttributes=message_attributes())

    def enqueue_many(self, items: list[tuple[str, str]]) -> None:
        attributes = message_attributes()
        for start in range(0, len(items), 10):
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": json.dumps({"user_id": user_id, "notification_id": notification_id}),
                    "MessageAttributes": attributes,
                }
                for i, (user_id, notification_id) in enumerate(items[start : start + 10])
            ]
            response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            for failed in response.get("Failed", []):
                user_id, notification_id = items[start + int(failed["Id"])]
                self.enqueue(user_id, notification_id)  # retried once alone; raises if it fails again


def default_email_queue() -> SqsEmailQueue | None:
    url = get_settings().notification_email_queue_url
    return SqsEmailQueue(url) if url else None


# --- unsubscribe --------------------------------------------------------------------------------


def unsubscribe_token(user_id: str, category: str) -> str:
    now = utcnow()
    claims = {
        "sub": user_id,
        "cat": category,
        "typ": "unsubscribe",
        "aud": UNSUBSCRIBE_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + UNSUBSCRIBE_TTL).timestamp()),
    }
    return str(jwt.encode(claims, _signing_key(), algorithm=ALGORITHM))


def read_unsubscribe_token(token: str) -> tuple[str, str]:
    """(user_id, category) of a valid token; a 400 for anything else."""
    try:
        claims = jwt.decode(
            token,
            _signing_key(),
            algorithms=[ALGORITHM],
            audience=UNSUBSCRIBE_AUDIENCE,
            options={"verify_exp": False},
        )
    except JWTError as exc:
        raise InvalidRequest("This unsubscribe link is not valid.", code="invalid_unsubscribe_token") from exc
    if claims.get("typ") != "unsubscribe" or not claims.get("sub") or not claims.get("cat"):
        raise InvalidRequest("This unsubscribe link is not valid.", code="invalid_unsubscribe_token")
    if float(claims.get("exp", 0)) <= utcnow().timestamp():
        raise InvalidRequest("This unsubscribe link has expired.", code="invalid_unsubscribe_token")
    return str(claims["sub"]), str(claims["cat"])


# --- templates ----------------------------------------------------------------------------------


def render(notification: NotificationModel, user: UserModel, settings: Settings | None = None) -> EmailMessage:
    settings = settings or get_settings()
    category = type_info(notification.type).category.value
    link = (
        f"{settings.public_app_url.rstrip('/')}{UNSUBSCRIBE_PATH}?token={quote(unsubscribe_token(user.id, category))}"
    )
    subject = f"[Agents-Meetings] {notification.title}"
    text = (
        f"Hello {user.full_name},\n\n{notification.message}\n\n"
        f"You receive this email because {category} notifications are on for your account.\n"
        f"Stop these emails: {link}\n"
    )
    body = (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<p>Hello {html.escape(user.full_name)},</p>"
        f"<h2>{html.escape(notification.title)}</h2>"
        f"<p>{html.escape(notification.message)}</p>"
        f'<hr><p style="font-size:12px;color:#666">You receive this email because {html.escape(category)} '
        f'notifications are on for your account. <a href="{html.escape(link)}">Unsubscribe</a></p>'
        "</body></html>"
    )
    return EmailMessage(to=user.email, subject=subject, text=text, html=body)


# --- the worker's step --------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailOutcome:
    status: str  # sent | skipped | failed
    message_id: str | None = None


class EmailDelivery:
    """Sends one queued notification email. Raises on a send failure so that SQS retries; on the
    last attempt the notification is marked ``failed`` (and the message goes to the DLQ)."""

    def __init__(self, sender: EmailSender, settings: Settings | None = None):
        self._sender = sender
        self._settings = settings or get_settings()

    def deliver(self, user_id: str, notification_id: str, *, attempt: int, max_attempts: int) -> EmailOutcome:
        try:
            notification = NotificationModel.get(user_id, notification_id, consistent_read=True)
        except DoesNotExist:
            return EmailOutcome("skipped")  # deleted by its user meanwhile
        if notification.email_status == "sent":
            return EmailOutcome("skipped")  # a redelivered message: sent already
        try:
            user = UserModel.get(user_id)
        except DoesNotExist:
            return EmailOutcome("skipped")
        try:
            message_id = self._sender.send(render(notification, user, self._settings))
        except Exception as exc:
            final = attempt >= max_attempts
            actions = [
                NotificationModel.email_attempts.set(attempt),
                NotificationModel.email_error.set(f"{type(exc).__name__}: {exc}"[:500]),
            ]
            if final:
                actions.append(NotificationModel.email_status.set("failed"))
                metrics.add_metric(name="NotificationEmailFailed", unit="Count", value=1)
            self._update(notification, actions)
            logger.warning(
                "notification email failed",
                extra={"notification_id": notification_id, "attempt": attempt, "final": final},
            )
            raise
        self._update(
            notification,
            [
                NotificationModel.email_status.set("sent"),
                NotificationModel.email_attempts.set(attempt),
                NotificationModel.email_error.remove(),
            ],
        )
        metrics.add_metric(name="NotificationEmailSent", unit="Count", value=1)
        emit_dimensioned(
            {"NotificationsDelivered": ("Count", 1)},
            {"channel": "email"},
            {"notification_id": notification.id, "notification_type": notification.type},
        )
        return EmailOutcome("sent", message_id)

    @staticmethod
    def _update(notification: NotificationModel, actions: list[Any]) -> None:
        if not update_if_present(notification, actions):
            logger.info("notification deleted while its email was sent", extra={"notification_id": notification.id})
