"""NotificationService (spec 1.2): the notifications facade, made of the inbox (list, read, count,
delete: ``inbox``), creation (idempotent writes, grouping, broadcasts: ``creation``) and the
delivery planner every delivering path goes through (preferences, quiet hours, hourly cap,
WebSocket / email / push fan-out: ``delivery``).
"""

from __future__ import annotations

from datetime import datetime

from agents_meetings.notifications.creation import BatchResult, NotificationCreation
from agents_meetings.notifications.delivery import DeliveryPlanner, DeliveryReport
from agents_meetings.notifications.email import EmailQueue, default_email_queue
from agents_meetings.notifications.inbox import NotificationInbox, public
from agents_meetings.notifications.preferences import PreferenceService
from agents_meetings.notifications.push import PushSender, default_push_sender
from agents_meetings.notifications.websocket import WebSocketManager, default_sender
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import NotificationModel

__all__ = ["BatchResult", "DeliveryReport", "NotificationService", "public"]


class NotificationService(NotificationInbox, NotificationCreation):
    """A user's inbox (``NotificationInbox``) and the creation of notifications
    (``NotificationCreation``), both delivering through one ``DeliveryPlanner`` (``delivery``)."""

    def __init__(
        self,
        websockets: WebSocketManager | None = None,
        email_queue: EmailQueue | None = None,
        push: PushSender | None = None,
        preferences: PreferenceService | None = None,
        settings: Settings | None = None,
    ):
        settings = settings or get_settings()
        preferences = preferences or PreferenceService()
        delivery = DeliveryPlanner(
            websockets=websockets if websockets is not None else WebSocketManager(default_sender(), settings),
            email_queue=email_queue if email_queue is not None else default_email_queue(),
            push=push or default_push_sender(),
            preferences=preferences,
        )
        NotificationCreation.__init__(self, delivery, preferences, settings)

    @property
    def websockets(self) -> WebSocketManager:
        return self.delivery.websockets

    @websockets.setter
    def websockets(self, manager: WebSocketManager) -> None:
        self.delivery.websockets = manager

    def send_notification(self, notification_id: str | NotificationModel) -> DeliveryReport:
        """Deliver a stored notification on every channel the owner's preferences allow."""
        notification = notification_id if isinstance(notification_id, NotificationModel) else self.find(notification_id)
        return self.delivery.deliver(notification, self.preferences.get(notification.user_id))

    def release_held(self, now: datetime | None = None, limit: int = 500) -> int:
        """Deliver what quiet hours held back and whose release time has come (scheduled job)."""
        return self.delivery.release_held(now, limit)
