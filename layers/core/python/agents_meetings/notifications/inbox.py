"""A user's inbox: list, read, count and delete their stored notifications, and their wire shape.

The sparse ``unread`` index makes the unread list and the unread count one query each, exact by
construction (an item is in the index exactly while it is unread; marking read is a conditional
update, so concurrent reads of one notification count once). Expired items are hidden on read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.errors import NotFound, Unprocessable
from agents_meetings.notifications import ids
from agents_meetings.notifications.catalog import Category
from agents_meetings.notifications.conditions import is_condition_failure
from agents_meetings.pagination import Page, decode_cursor, encode_cursor, index_key_names, paginate
from agents_meetings.tables import NotificationModel


def public(notification: NotificationModel) -> dict[str, Any]:
    """The wire shape of a notification (REST, WebSocket frames and SSE events alike)."""
    return {
        "id": notification.id,
        "type": notification.type,
        "title": notification.title,
        "message": notification.message,
        "priority": notification.priority,
        "category": notification.category,
        "data": notification.data or {},
        "is_read": bool(notification.is_read),
        "created_at": isoformat_z(notification.created_at),
        "updated_at": isoformat_z(notification.updated_at),
        "read_at": isoformat_z(notification.read_at),
        "expires_at": isoformat_z(notification.expires_at) if notification.expires_at else None,
        "group_key": notification.group_key,
        "group_count": int(notification.group_count or 1),
    }


def _live(notification: NotificationModel, now: datetime) -> bool:
    # DynamoDB deletes expired items within days (moto never): reads hide them meanwhile.
    return notification.expires_at is None or notification.expires_at > now


def _not_found() -> NotFound:
    return NotFound("Notification not found.", code="notification_not_found")


class NotificationInbox:
    def get(self, notification_id: str, user_id: str) -> NotificationModel:
        if not ids.is_valid(notification_id):
            raise _not_found()
        try:
            notification = NotificationModel.get(user_id, notification_id)
        except DoesNotExist as exc:
            raise _not_found() from exc
        if not _live(notification, utcnow()):
            raise _not_found()
        return notification

    def find(self, notification_id: str) -> NotificationModel:
        """A notification by id alone (its owner looked up through ``by_id``)."""
        owners = list(NotificationModel.by_id.query(notification_id, limit=1))
        if not owners:
            raise _not_found()
        return self.get(notification_id, owners[0].user_id)

    def list_notifications(
        self,
        user_id: str,
        *,
        unread_only: bool = False,
        category: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[NotificationModel]:
        if category is not None and category not in {c.value for c in Category}:
            raise Unprocessable(f"Unknown category {category!r}.", code="invalid_category")
        now = utcnow()
        condition = NotificationModel.category == category if category else None
        if unread_only:
            key_names = index_key_names(NotificationModel, "unread")

            def run(lek: dict[str, Any] | None) -> Any:
                return NotificationModel.unread.query(
                    user_id, filter_condition=condition, scan_index_forward=False, last_evaluated_key=lek
                )

        else:
            key_names = index_key_names(NotificationModel)

            def run(lek: dict[str, Any] | None) -> Any:
                return NotificationModel.query(
                    user_id, filter_condition=condition, scan_index_forward=False, last_evaluated_key=lek
                )

        items, last = paginate(
            run, key_names=key_names, limit=limit, cursor_key=decode_cursor(cursor), keep=lambda n: _live(n, now)
        )
        return Page(items, encode_cursor(last) if last else None)

    def since(self, user_id: str, after_id: str, limit: int = 100) -> list[NotificationModel]:
        """Notifications created after ``after_id``, oldest first (the SSE stream's resume)."""
        now = utcnow()
        found: list[NotificationModel] = []
        for item in NotificationModel.query(user_id, NotificationModel.id > after_id, consistent_read=True):
            if _live(item, now):
                found.append(item)
            if len(found) >= limit:
                break
        return found

    def newest_id(self, user_id: str) -> str | None:
        for item in NotificationModel.query(user_id, scan_index_forward=False, limit=1):
            return str(item.id)
        return None

    def mark_as_read(self, notification_id: str, user_id: str) -> NotificationModel:
        notification = self.get(notification_id, user_id)
        if notification.is_read:
            return notification  # already read: nothing changes, the count stays exact
        if not self._mark_read(notification, utcnow()):
            return self.get(notification_id, user_id)  # read (or deleted) concurrently
        return notification

    def mark_all_as_read(self, user_id: str) -> int:
        """Marks every unread notification read; returns how many changed."""
        now = utcnow()
        # Each one not read or deleted meanwhile counts.
        return sum(1 for item in NotificationModel.unread.query(user_id) if self._mark_read(item, now))

    @staticmethod
    def _mark_read(notification: NotificationModel, now: datetime) -> bool:
        """Mark one unread notification read; False when it was read or deleted meanwhile."""
        try:
            notification.update(
                actions=[
                    NotificationModel.is_read.set(True),
                    NotificationModel.read_at.set(now),
                    NotificationModel.unread_user_id.remove(),
                ],
                condition=NotificationModel.id.exists() & (NotificationModel.is_read == False),  # noqa: E712
            )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            return False
        return True

    def delete_notification(self, notification_id: str, user_id: str) -> None:
        if not ids.is_valid(notification_id):
            raise _not_found()
        try:
            NotificationModel(user_id=user_id, id=notification_id).delete(condition=NotificationModel.id.exists())
        except DeleteError as exc:
            if not is_condition_failure(exc):
                raise
            raise _not_found() from exc

    def get_unread_count(self, user_id: str) -> int:
        now = utcnow()
        live = NotificationModel.expires_at.does_not_exist() | (NotificationModel.expires_at > now)
        return int(NotificationModel.unread.count(user_id, filter_condition=live))
