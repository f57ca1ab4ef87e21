"""Creating notifications: validated, idempotent writes (a cause's marker in the same transaction),
grouping of similar unread notifications inside a window, and broadcasts by BatchWriteItem; what is
created is handed to the delivery planner.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from agents_meetings.clock import utcnow
from agents_meetings.errors import Unprocessable
from agents_meetings.notifications import ids
from agents_meetings.notifications.catalog import NotificationType, Priority, TypeInfo, group_text, type_info
from agents_meetings.notifications.conditions import is_condition_failure
from agents_meetings.notifications.delivery import DeliveryPlanner
from agents_meetings.notifications.preferences import PreferenceService
from agents_meetings.observability import metrics
from agents_meetings.settings import Settings
from agents_meetings.statistics.platform import count_notifications_sent
from agents_meetings.tables import NotificationKeyModel, NotificationModel, transaction_connection

_DUPLICATE = object()  # _join_group: this cause was counted in the group before
_RETRY = object()  # _grow_group: the group changed since it was read
GROUP_JOIN_ATTEMPTS = 8
MAX_TITLE = 200
MAX_MESSAGE = 2000
BATCH_WRITE_SIZE = 25
BATCH_RETRY_ATTEMPTS = 8
MARKER_TTL = timedelta(days=7)


@dataclass(frozen=True)
class BatchResult:
    notification_ids: dict[str, str]  # user_id -> notification id
    write_calls: int
    retried_items: int
    deliveries: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Draft:
    """A validated notification's content, before it has an owner and an id."""

    type: str
    title: str
    message: str
    priority: str
    category: str
    data: dict[str, Any]
    source_key: str | None

    def stored(
        self, user_id: str, notification_id: str, now: datetime, expires_at: datetime, group_key: str | None = None
    ) -> NotificationModel:
        return NotificationModel(
            user_id=user_id,
            id=notification_id,
            type=self.type,
            title=self.title,
            message=self.message,
            priority=self.priority,
            category=self.category,
            data=self.data,
            is_read=False,
            unread_user_id=user_id,
            created_at=now,
            expires_at=expires_at,
            group_key=group_key,
            group_count=1,
            source_keys={self.source_key} if self.source_key else None,
        )


class NotificationCreation:
    """Writes notifications and hands them to ``delivery``."""

    def __init__(self, delivery: DeliveryPlanner, preferences: PreferenceService, settings: Settings):
        self.delivery = delivery
        self.preferences = preferences
        self.settings = settings

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
        """Store one notification and (unless ``deliver=False``) deliver it; None when its cause was
        handled before and the user has deleted the result.

        ``source_key`` names its cause (an event id): the same cause never creates two. ``group_key``
        lets similar unread notifications of a groupable type collapse into one.
        """
        info, resolved_priority = self._validate(type, title, message, priority)
        now = utcnow()
        prefs = self.preferences.get(user_id)
        grouping = bool(group_key and info.groupable and prefs.group_similar_notifications)
        if grouping and group_key:
            joined = self._join_group(user_id, type, group_key, data or {}, now, source_key)
            if joined is _DUPLICATE:
                return self._repeated(user_id, str(source_key), deliver)
            if isinstance(joined, NotificationModel):
                if deliver:
                    self.delivery.deliver_group_update(joined, prefs)
                return joined
        draft = _Draft(type, title, message, resolved_priority, info.category.value, data or {}, source_key)
        expires = expires_at or now + timedelta(days=self.settings.notification_ttl_days)
        notification = draft.stored(user_id, ids.new_id(), now, expires, group_key)
        if not self._store(notification, source_key, now):
            return self._repeated(user_id, str(source_key), deliver)
        if grouping and group_key:
            self._open_group(user_id, group_key, notification.id, now)
        metrics.add_metric(name="NotificationCreated", unit="Count", value=1)
        if deliver:
            self.delivery.deliver(notification, prefs)
        return notification

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
        """One notification per user, written with BatchWriteItem (25 per call, unprocessed items
        retried with backoff). With ``source_key`` each chunk reserves its ids first, so a retried
        broadcast rewrites the same items instead of duplicating them."""
        info, resolved_priority = self._validate(type, title, message, priority)
        now = utcnow()
        recipients = list(dict.fromkeys(users))
        created: dict[str, str] = {}
        calls = retried = 0
        pending_delivery: list[NotificationModel] = []
        draft = _Draft(type, title, message, resolved_priority, info.category.value, data or {}, source_key)
        expires = now + timedelta(days=self.settings.notification_ttl_days)
        for chunk_index, start in enumerate(range(0, len(recipients), BATCH_WRITE_SIZE)):
            chunk = recipients[start : start + BATCH_WRITE_SIZE]
            reserved = self._reserve_chunk(source_key, chunk_index, chunk, now) if source_key else None
            if reserved is not None and reserved.tally == 1:
                created.update(dict(zip(chunk, (reserved.notification_id or "").split(","), strict=False)))
                continue  # written and delivered by an earlier attempt
            chunk_ids = (reserved.notification_id or "").split(",") if reserved is not None else []
            chunk_ids += [""] * (len(chunk) - len(chunk_ids))
            items = [
                draft.stored(user_id, chunk_ids[i] or ids.new_id(), now, expires) for i, user_id in enumerate(chunk)
            ]
            chunk_calls, chunk_retried = self._batch_write(items)
            calls += chunk_calls
            retried += chunk_retried
            if reserved is not None:
                reserved.update(actions=[NotificationKeyModel.tally.set(1)])
                calls += 1
            created.update({item.user_id: item.id for item in items})
            pending_delivery.extend(items)
        deliveries = self.delivery.deliver_many(pending_delivery) if deliver and pending_delivery else {}
        metrics.add_metric(name="NotificationCreated", unit="Count", value=len(pending_delivery))
        return BatchResult(created, calls, retried, deliveries)

    # --- idempotency and grouping ----------------------------------------------------------

    @staticmethod
    def _marker(user_id: str, source_key: str, notification_id: str, now: datetime) -> NotificationKeyModel:
        return NotificationKeyModel(
            key=f"source#{source_key}#{user_id}", notification_id=notification_id, tally=1, expires_at=now + MARKER_TTL
        )

    def _store(self, notification: NotificationModel, source_key: str | None, now: datetime) -> bool:
        """Write the notification, with its cause's marker in the same transaction; False when the
        cause was handled before (the marker exists), and then nothing is written."""
        if not source_key:
            notification.save()
            count_notifications_sent(1)
            return True
        marker = self._marker(notification.user_id, source_key, notification.id, now)
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.save(notification, condition=NotificationModel.id.does_not_exist())
                transaction.save(marker, condition=NotificationKeyModel.key.does_not_exist())
        except TransactWriteError as exc:
            if is_condition_failure(exc):
                return False
            raise
        # Outside the transaction: the hourly bucket is a hot item, and transactions on one item
        # conflict with each other (an approximate 24-hour figure is worth no retried deliveries).
        count_notifications_sent(1)
        return True

    def _repeated(self, user_id: str, source_key: str, deliver: bool) -> NotificationModel | None:
        """The notification an earlier delivery of the same cause made (delivered now if it was not)."""
        marker = NotificationKeyModel.get(f"source#{source_key}#{user_id}", consistent_read=True)
        try:
            existing = NotificationModel.get(user_id, marker.notification_id or "", consistent_read=True)
        except DoesNotExist:
            return None  # deleted by its owner: a redelivered event must not bring it back
        if deliver and existing.delivered_at is None:
            self.delivery.deliver(existing, self.preferences.get(existing.user_id))
        return existing

    def _join_group(
        self,
        user_id: str,
        notification_type: str,
        group_key: str,
        data: dict[str, Any],
        now: datetime,
        source_key: str | None,
    ) -> NotificationModel | object | None:
        """The group's notification, updated; None when no open group exists; ``_DUPLICATE`` when
        this cause was already counted."""
        try:
            group = NotificationKeyModel.get(f"group#{user_id}#{group_key}", consistent_read=True)
        except DoesNotExist:
            return None
        if group.window_ends_at is None or group.window_ends_at <= now or not group.notification_id:
            return None
        for _ in range(GROUP_JOIN_ATTEMPTS):
            try:
                current = NotificationModel.get(user_id, group.notification_id, consistent_read=True)
            except DoesNotExist:
                return None
            if current.is_read:
                return None
            joined = self._grow_group(current, notification_type, data, now, source_key)
            if joined is not _RETRY:
                return joined
        raise RuntimeError(f"the notification group {group.key} kept changing under concurrent updates")

    def _grow_group(
        self,
        current: NotificationModel,
        notification_type: str,
        data: dict[str, Any],
        now: datetime,
        source_key: str | None,
    ) -> NotificationModel | object | None:
        """Add one cause to the group read as ``current``; ``_RETRY`` when a concurrent update
        changed the group since that read. The count is of distinct members (a participant who
        leaves twice is one participant who left), or of causes when the data names no user."""
        expected = int(current.group_count or 1)
        previous = dict(current.data or {})
        members = [str(m) for m in previous.get("grouped_user_ids") or []] or (
            [str(previous["user_id"])] if previous.get("user_id") else []
        )
        member = data.get("user_id")
        if member is not None and str(member) in members:
            count = expected
        else:
            count = expected + 1
            if member is not None:
                members.append(str(member))
        title, message = group_text(notification_type, count, data)
        first = [] if "grouped" in previous else [{k: v for k, v in previous.items() if k != "grouped_user_ids"}]
        actors = [*first, *previous.get("grouped", []), data]
        new_data = {**data, "grouped": actors[-50:], **({"grouped_user_ids": members} if members else {})}
        actions: list[Action] = [
            NotificationModel.group_count.set(count),
            NotificationModel.title.set(title),
            NotificationModel.message.set(message),
            NotificationModel.data.set(new_data),
            NotificationModel.updated_at.set(now),
        ]
        # Only while unread (once read, the next similar event starts a new notification), and only
        # from the count read (optimistic concurrency: two workers never both count from the same N).
        unread = NotificationModel.id.exists() & (NotificationModel.is_read == False)  # noqa: E712
        condition = unread & (NotificationModel.group_count == expected)
        try:
            if source_key is None:
                current.update(actions=actions, condition=condition)
            else:
                with TransactWrite(connection=transaction_connection()) as transaction:
                    transaction.update(current, actions=actions, condition=condition)
                    transaction.save(
                        self._marker(current.user_id, source_key, current.id, now),
                        condition=NotificationKeyModel.key.does_not_exist(),
                    )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            return _RETRY  # read or changed meanwhile: the caller reads again and decides
        except TransactWriteError as exc:
            # pynamodb sends a transaction's puts before its updates: [marker, group update].
            if is_condition_failure(exc, item=0):
                return _DUPLICATE
            if is_condition_failure(exc, item=1):
                return _RETRY
            raise
        current.group_count, current.title, current.message = count, title, message
        current.data, current.updated_at = new_data, now
        return current

    def _open_group(self, user_id: str, group_key: str, notification_id: str, now: datetime) -> None:
        window = timedelta(seconds=self.settings.notification_group_window_seconds)
        NotificationKeyModel(
            key=f"group#{user_id}#{group_key}",
            notification_id=notification_id,
            window_ends_at=now + window,
            expires_at=now + window + timedelta(hours=1),
        ).save()

    def _reserve_chunk(
        self, source_key: str | None, chunk_index: int, chunk: list[str], now: datetime
    ) -> NotificationKeyModel:
        marker = NotificationKeyModel(
            key=f"batch#{source_key}#{chunk_index}",
            notification_id=",".join(ids.new_id() for _ in chunk),
            tally=0,
            expires_at=now + MARKER_TTL,
        )
        try:
            marker.save(condition=NotificationKeyModel.key.does_not_exist())
            return marker
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
            return NotificationKeyModel.get(marker.key, consistent_read=True)

    @staticmethod
    def _batch_write(items: list[NotificationModel]) -> tuple[int, int]:
        """BatchWriteItem with the unprocessed items retried (exponential backoff); (calls, retried)."""
        connection = NotificationModel._get_connection()
        table = NotificationModel.Meta.table_name
        requests = [{"PutRequest": {"Item": item.serialize()}} for item in items]
        retried = 0
        for attempt in range(BATCH_RETRY_ATTEMPTS):
            response = connection.connection.dispatch(
                "BatchWriteItem", {"RequestItems": {table: requests}, "ReturnConsumedCapacity": "NONE"}
            )
            requests = (response.get("UnprocessedItems") or {}).get(table, [])
            if not requests:
                count_notifications_sent(len(items))
                return attempt + 1, retried
            retried += len(requests)
            time.sleep(min(2.0, 0.05 * 2**attempt))
        raise RuntimeError(f"BatchWriteItem left {len(requests)} notifications unwritten after retries")

    @staticmethod
    def _validate(notification_type: str, title: str, message: str, priority: str | None) -> tuple[TypeInfo, str]:
        if notification_type not in {t.value for t in NotificationType}:
            raise Unprocessable(f"Unknown notification type {notification_type!r}.", code="invalid_notification_type")
        if not title.strip() or len(title) > MAX_TITLE:
            raise Unprocessable(f"A title is 1 to {MAX_TITLE} characters.", code="invalid_title")
        if not message.strip() or len(message) > MAX_MESSAGE:
            raise Unprocessable(f"A message is 1 to {MAX_MESSAGE} characters.", code="invalid_message")
        if priority is not None and priority not in {p.value for p in Priority}:
            raise Unprocessable(f"Unknown priority {priority!r}.", code="invalid_priority")
        info = type_info(notification_type)
        return info, priority or info.priority.value
