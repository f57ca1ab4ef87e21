"""Outgoing email, the platform's one sending module: the ``EmailSender`` port and its Amazon SES
adapter (one client per container). An adapter below the domain packages: identity sends password
reset mail through it, notifications/email.py the notification emails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from agents_meetings.aws_clients import aws_client
from agents_meetings.settings import get_settings


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str


class EmailSender(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Send one message; returns the provider's message id. Raises when it could not be sent."""
        ...


# Standard retry mode: throttling and transient errors are retried (3 attempts, jittered backoff),
# which keeps a send well within the spec's minute.
SES_CLIENT_CONFIG = {"retries": {"max_attempts": 3, "mode": "standard"}, "connect_timeout": 3, "read_timeout": 5}


class SesEmailSender:
    """Plain text + HTML through ``ses:SendEmail``, from the verified ``EMAIL_FROM`` identity."""

    def __init__(self, sender: str | None = None, client: Any = None):
        self._sender = sender or get_settings().email_from
        self._client = client

    def send(self, message: EmailMessage) -> str:
        client = self._client or aws_client("ses", config=SES_CLIENT_CONFIG)
        response = client.send_email(
            Source=self._sender,
            Destination={"ToAddresses": [message.to]},
            Message={
                "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": message.text, "Charset": "UTF-8"},
                    "Html": {"Data": message.html, "Charset": "UTF-8"},
                },
            },
        )
        return str(response["MessageId"])
