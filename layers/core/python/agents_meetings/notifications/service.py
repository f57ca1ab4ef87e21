"""NotificationService (spec 1.2): the notifications facade, composed of the inbox (list, read,
count, delete: ``inbox``), creation (idempotent writes, grouping, broadcasts: ``creation``) and the
delivery planner every delivering path goes through (preferences, quiet hours, hourly cap,
WebSocket / email / push fan-out: ``delivery``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from agents_meetings.notifications.creation import BatchResult, NotificationCreation
from agents_meetings.notifications.delivery import DeliveryPlanner, DeliveryReport
from agents_meetings.notifications.email import EmailQueue
from agents_meetings.notifications.inbox import NotificationInbox, public
from agents_meetings.notifications.preferences import PreferenceService
from agents_meetings.notifications.push import PushSender
from agents_meetings.notifications.websocket import WebSocketManager
from agents_meetings.pagination import Page
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import NotificationModel

__all__ = ["BatchResult", "DeliveryReport", "NotificationService", "public"]


class NotificationService:
    def __init__(
        self,
        websockets: WebSocketManager | None = None,
        email_queue: EmailQueue | None = None,
        push: PushSender | None = None,
        preferences: PreferenceService | None = None,
        settings: Settings | None = None,
    ):
        self.settings = settings or get_settings()
        self.preferences = preferences or PreferenceService()
        self.delivery = DeliveryPlanner(websockets, email_queue, push, self.preferences, self.settings)
        self.inbox = NotificationInbox()
        self.creation = NotificationCreation(self.delivery, self.preferences, self.settings)

    @property
    def websockets(self) -> WebSocketManager:
        return self.delivery.websockets

    @websockets.setter
    def websockets(self, manager: WebSocketManager) -> None:
        self.delivery.websockets = manager

    # --- create ----------------------------------------------------------------------------

    def create_notification(
        self,
        user_id: str,
        type: str,
        title: str,
        message: str,
        data: dict[str, Any] | None = None,
        *,
        priority: str | None = None,
        group_key: str | None = None,
        source_key: str | None = None,
        expires_at: datetime | None = None,
        deliver: bool = True,
    ) -> NotificationModel | None:
        """Store one notification and (unless ``deliver=False``) deliver it (``creation``)."""
        return self.creation.create_notification(
            user_id,
            type,
            title,
            message,
            data,
            priority=priority,
            group_key=group_key,
            source_key=source_key,
            expires_at=expires_at,
            deliver=deliver,
        )

    def batch_create_notifications(
        self,
        users: Sequence[str],
        type: str,
        title: str,
        message: str,
        data: dict[str, Any] | None = None,
        *,
        priority: str | None = None,
        source_key: str | None = None,
        deliver: bool = True,
    ) -> BatchResult:
        """One notification per user, written in batches and fanned out (``creation``)."""
        return self.creation.batch_create_notifications(
            users, type, title, message, data, priority=priority, source_key=source_key, deliver=deliver
        )

    # --- the inbox -------------------------------------------------------------------------

    def get(self, notification_id: str, user_id: str) -> NotificationModel:
        return self.inbox.get(notification_id, user_id)

    def list_notifications(
        self,
        user_id: str,
        *,
        unread_only: bool = False,
        category: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[NotificationModel]:
        return self.inbox.list_notifications(
            user_id, unread_only=unread_only, category=category, limit=limit, cursor=cursor
        )

    def since(self, user_id: str, after_id: str, limit: int = 100) -> list[NotificationModel]:
        """Notifications created after ``after_id``, oldest first (the SSE stream's resume)."""
        return self.inbox.since(user_id, after_id, limit)

    def newest_id(self, user_id: str) -> str | None:
        return self.inbox.newest_id(user_id)

    def mark_as_read(self, notification_id: str, user_id: str) -> NotificationModel:
        return self.inbox.mark_as_read(notification_id, user_id)

    def mark_all_as_read(self, user_id: str) -> int:
        """Marks every unread notification read; returns how many changed."""
        return self.inbox.mark_all_as_read(user_id)

    def delete_notification(self, notification_id: str, user_id: str) -> None:
        self.inbox.delete_notification(notification_id, user_id)

    def get_unread_count(self, user_id: str) -> int:
        return self.inbox.get_unread_count(user_id)

    # --- delivery --------------------------------------------------------------------------

    def send_notification(self, notification_id: str | NotificationModel) -> DeliveryReport:
        """Deliver a stored notification on every channel the owner's preferences allow."""
        if isinstance(notification_id, NotificationModel):
            notification = notification_id
        else:
            notification = self.inbox.find(notification_id)
        return self.delivery.deliver(notification, self.preferences.get(notification.user_id))

    def release_held(self, now: datetime | None = None, limit: int = 500) -> int:
        """Deliver what quiet hours held back and whose release time has come (scheduled job)."""
        return self.delivery.release_held(now, limit)
