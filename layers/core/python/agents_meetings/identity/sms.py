"""Sending one-time codes by SMS: the ``SmsSender`` port and its Amazon SNS adapter.

Another provider (e.g. Twilio, the spec's choice) would be a second ``SmsSender``; nothing else changes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol

from agents_meetings.aws_clients import aws_client
from agents_meetings.settings import Settings, get_settings


class SmsSender(Protocol):
    def send(self, phone_number: str, message: str) -> None:
        """Deliver ``message`` to an E.164 number; raises if the provider refuses it."""


class SnsSmsSender:
    """Direct-to-phone publishes through Amazon SNS (no topic), marked transactional."""

    def __init__(self, settings: Settings | None = None, client: Any = None) -> None:
        self._settings = settings or get_settings()
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("sns", settings=self._settings)
        return self._client

    def send(self, phone_number: str, message: str) -> None:
        self.client.publish(
            PhoneNumber=phone_number,
            Message=message,
            MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
            },
        )


@lru_cache(maxsize=1)
def sms_sender() -> SmsSender:
    return SnsSmsSender()
