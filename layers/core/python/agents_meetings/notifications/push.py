"""Push notifications: the port and its Firebase Cloud Messaging side.

Push is opt-in per user and never sent without credentials: until ``FCM_PROJECT_ID`` and
``FCM_CREDENTIALS_ARN`` are configured (and devices register tokens, a mobile-app feature), the
platform records ``push_status = unavailable`` instead of pretending to send.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class PushMessage:
    user_id: str
    title: str
    body: str
    data: dict[str, str]

    def fcm_payload(self, device_token: str) -> dict[str, Any]:
        """The FCM HTTP v1 ``messages:send`` body for one device."""
        return {
            "message": {
                "token": device_token,
                "notification": {"title": self.title, "body": self.body},
                "data": self.data,
            }
        }


class PushSender(Protocol):
    @property
    def available(self) -> bool: ...

    def send(self, message: PushMessage) -> str:
        """Returns the delivery status recorded on the notification."""
        ...


class UnconfiguredPushSender:
    """No credentials: nothing is sent, and the notification says so."""

    available = False

    def send(self, message: PushMessage) -> str:
        return "unavailable"


def default_push_sender() -> PushSender:
    """No FCM sender exists yet: device-token registration (the mobile apps of spec 5.2) is missing,
    so even with credentials there is no device to address. The FCM payload above is ready for it."""
    return UnconfiguredPushSender()
