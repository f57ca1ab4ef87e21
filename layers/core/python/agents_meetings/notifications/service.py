"""NotificationService (spec 1.2): create, deliver, read, delete and count a user's notifications.

Storage: ``notifications`` keyed (user_id, time-ordered id); the sparse ``unread`` index makes the
unread list and the unread count one query each, exact by construction (an item is in the index
exactly while it is unread; marking read is a conditional update, so concurrent reads of one
notification count once). Delivery follows the user's preferences (agents_meetings.notifications
.preferences): in-app (stored + WebSocket push), email (queued for the email worker), push
(FCM-ready port); quiet hours hold email and push back (urgent excepted) until the release job;
``max_notifications_per_hour`` caps delivery (counted with a conditional ADD) but never storage;
similar notifications collapse into one inside a window.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.errors import NotFound, Unprocessable
from agents_meetings.notifications import ids
from agents_meetings.notifications.catalog import (
    Category,
    NotificationType,
    Priority,
    group_text,
    type_info,
)
from agents_meetings.notifications.email import EmailQueue, default_email_queue
from agents_meetings.notifications.preferences import Preferences, PreferenceService
from agents_meetings.notifications.push import PushMessage, PushSender, default_push_sender
from agents_meetings.notifications.websocket import WebSocketManager, default_sender, frame
from agents_meetings.observability import logger, metrics
from agents_meetings.pagination import Page, decode_cursor, encode_cursor, index_key_names, paginate
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import HeldDeliveryModel, NotificationKeyModel, NotificationModel, transaction_connection

_DUPLICATE = object()  # _join_group: this cause was counted in the group before
_RETRY = object()  # _grow_group: the group changed since it was read
GROUP_JOIN_ATTEMPTS = 8
MAX_TITLE = 200
MAX_MESSAGE = 2000
BATCH_WRITE_SIZE = 25
BATCH_RETRY_ATTEMPTS = 8
MARKER_TTL = timedelta(days=7)
HELD_QUEUE = "held"


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


def _cancellation_codes(exc: TransactWriteError) -> list[str]:
    return [str(reason.code) if reason is not None else "None" for reason in (exc.cancellation_reasons or [])]


def _condition_failed(exc: TransactWriteError) -> bool:
    return "ConditionalCheckFailed" in _cancellation_codes(exc)


def _live(notification: NotificationModel, now: datetime) -> bool:
    # DynamoDB deletes expired items within days (moto never): reads hide them meanwhile.
    return notification.expires_at is None or notification.expires_at > now


@dataclass
class DeliveryReport:
    realtime: str = "off"
    email: str = "off"
    push: str = "off"
    websocket_frames: int = 0
    capped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"realtime": self.realtime, "email": self.email, "push": self.push, "capped": self.capped}


@dataclass(frozen=True)
class BatchResult:
    notification_ids: dict[str, str]  # user_id -> notification id
    write_calls: int
    retried_items: int
    deliveries: dict[str, int] = field(default_factory=dict)


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
        self.websockets = websockets if websockets is not None else WebSocketManager(default_sender(), self.settings)
        self.email_queue = email_queue if email_queue is not None else default_email_queue()
        self.push = push or default_push_sender()
        self.preferences = preferences or PreferenceService()

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
                    self._deliver_group_update(joined, prefs)
                return joined
        notification = NotificationModel(
            user_id=user_id,
            id=ids.new_id(),
            type=type,
            title=title,
            message=message,
            priority=resolved_priority,
            category=info.category.value,
            data=data or {},
            is_read=False,
            unread_user_id=user_id,
            created_at=now,
            expires_at=expires_at or now + timedelta(days=self.settings.notification_ttl_days),
            group_key=group_key,
            group_count=1,
            source_keys={source_key} if source_key else None,
        )
        if not self._store(notification, source_key, now):
            return self._repeated(user_id, str(source_key), deliver)
        if grouping and group_key:
            self._open_group(user_id, group_key, notification.id, now)
        metrics.add_metric(name="NotificationCreated", unit="Count", value=1)
        if deliver:
            self._deliver(notification, prefs)
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
        for chunk_index, start in enumerate(range(0, len(recipients), BATCH_WRITE_SIZE)):
            chunk = recipients[start : start + BATCH_WRITE_SIZE]
            reserved = self._reserve_chunk(source_key, chunk_index, chunk, now) if source_key else None
            if reserved is not None and reserved.tally == 1:
                created.update(dict(zip(chunk, (reserved.notification_id or "").split(","), strict=False)))
                continue  # written and delivered by an earlier attempt
            chunk_ids = (reserved.notification_id or "").split(",") if reserved is not None else []
            items = [
                NotificationModel(
                    user_id=user_id,
                    id=chunk_ids[i] if i < len(chunk_ids) and chunk_ids[i] else ids.new_id(),
                    type=type,
                    title=title,
                    message=message,
                    priority=resolved_priority,
                    category=info.category.value,
                    data=data or {},
                    is_read=False,
                    unread_user_id=user_id,
                    created_at=now,
                    expires_at=now + timedelta(days=self.settings.notification_ttl_days),
                    group_count=1,
                    source_keys={source_key} if source_key else None,
                )
                for i, user_id in enumerate(chunk)
            ]
            chunk_calls, chunk_retried = self._batch_write(items)
            calls += chunk_calls
            retried += chunk_retried
            if reserved is not None:
                reserved.update(actions=[NotificationKeyModel.tally.set(1)])
                calls += 1
            created.update({item.user_id: item.id for item in items})
            pending_delivery.extend(items)
        deliveries = self._deliver_many(pending_delivery) if deliver and pending_delivery else {}
        metrics.add_metric(name="NotificationCreated", unit="Count", value=len(pending_delivery))
        return BatchResult(created, calls, retried, deliveries)

    # --- read / change ---------------------------------------------------------------------

    def get(self, notification_id: str, user_id: str) -> NotificationModel:
        if not ids.is_valid(notification_id):
            raise NotFound("Notification not found.", code="notification_not_found")
        try:
            notification = NotificationModel.get(user_id, notification_id)
        except DoesNotExist as exc:
            raise NotFound("Notification not found.", code="notification_not_found") from exc
        if not _live(notification, utcnow()):
            raise NotFound("Notification not found.", code="notification_not_found")
        return notification

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
        now = utcnow()
        try:
            notification.update(
                actions=[
                    NotificationModel.is_read.set(True),
                    NotificationModel.read_at.set(now),
                    NotificationModel.unread_user_id.remove(),
                ],
                condition=NotificationModel.id.exists() & (NotificationModel.is_read == False),  # noqa: E712
            )
        except UpdateError:
            return self.get(notification_id, user_id)  # read (or deleted) concurrently
        return notification

    def mark_all_as_read(self, user_id: str) -> int:
        """Marks every unread notification read; returns how many changed."""
        now = utcnow()
        changed = 0
        for item in NotificationModel.unread.query(user_id):
            try:
                item.update(
                    actions=[
                        NotificationModel.is_read.set(True),
                        NotificationModel.read_at.set(now),
                        NotificationModel.unread_user_id.remove(),
                    ],
                    condition=NotificationModel.id.exists() & (NotificationModel.is_read == False),  # noqa: E712
                )
                changed += 1
            except UpdateError:
                continue  # read or deleted meanwhile
        return changed

    def delete_notification(self, notification_id: str, user_id: str) -> None:
        if not ids.is_valid(notification_id):
            raise NotFound("Notification not found.", code="notification_not_found")
        try:
            NotificationModel(user_id=user_id, id=notification_id).delete(condition=NotificationModel.id.exists())
        except DeleteError as exc:
            raise NotFound("Notification not found.", code="notification_not_found") from exc

    def get_unread_count(self, user_id: str) -> int:
        now = utcnow()
        live = NotificationModel.expires_at.does_not_exist() | (NotificationModel.expires_at > now)
        return int(NotificationModel.unread.count(user_id, filter_condition=live))

    # --- delivery --------------------------------------------------------------------------

    def send_notification(self, notification_id: str | NotificationModel) -> DeliveryReport:
        """Deliver a stored notification on every channel the owner's preferences allow."""
        if isinstance(notification_id, NotificationModel):
            notification = notification_id
        else:
            owners = list(NotificationModel.by_id.query(notification_id, limit=1))
            if not owners:
                raise NotFound("Notification not found.", code="notification_not_found")
            notification = self.get(notification_id, owners[0].user_id)
        return self._deliver(notification, self.preferences.get(notification.user_id))

    def _deliver(self, notification: NotificationModel, prefs: Preferences) -> DeliveryReport:
        report = DeliveryReport()
        urgent = notification.priority == Priority.URGENT
        wants = {channel: prefs.channel_enabled(notification.type, channel) for channel in ("in_app", "email", "push")}
        if any(wants.values()) and not urgent and prefs.max_notifications_per_hour:
            report.capped = not self._take_hourly_slot(notification.user_id, prefs.max_notifications_per_hour)
        if wants["in_app"]:
            if report.capped:
                report.realtime = "capped"
            elif self.websockets.enabled:
                result = self.websockets.broadcast_to_user(notification.user_id, public(notification))
                report.websocket_frames = result.sent
                report.realtime = "sent" if result.sent else "no_connection"
            else:
                report.realtime = "unavailable"
        release = None if urgent else prefs.quiet_hours_release()
        held: set[str] = set()
        if wants["email"]:
            if report.capped:
                report.email = "capped"
            elif release is not None:
                report.email = "held"
                held.add("email")
            else:
                report.email = self._queue_email(notification)
        if wants["push"]:
            if report.capped:
                report.push = "capped"
            elif release is not None:
                report.push = "held"
                held.add("push")
            else:
                report.push = self._send_push(notification)
        if held and release is not None:
            HeldDeliveryModel(
                queue=HELD_QUEUE,
                release_key=f"{isoformat_z(release)}#{notification.user_id}#{notification.id}",
                user_id=notification.user_id,
                notification_id=notification.id,
                channels=held,
                release_at=release,
            ).save()
        self._record(notification, report)
        return report

    def _deliver_group_update(self, notification: NotificationModel, prefs: Preferences) -> None:
        """A grouped notification changed: only the in-app channel hears of it again."""
        if not prefs.channel_enabled(notification.type, "in_app") or not self.websockets.enabled:
            return
        if prefs.max_notifications_per_hour and not self._take_hourly_slot(
            notification.user_id, prefs.max_notifications_per_hour
        ):
            return
        self.websockets.broadcast_to_user(notification.user_id, public(notification))

    def _deliver_many(self, notifications: list[NotificationModel]) -> dict[str, int]:
        """Fan-out of a broadcast: preferences by BatchGetItem, WebSocket frames to the users who are
        connected (one scan of connections, not a query per user), emails queued in batches."""
        counts = {"websocket_frames": 0, "emails_queued": 0, "held": 0, "capped": 0}
        prefs = self.preferences.get_many([n.user_id for n in notifications])
        connected = self.websockets.all_connections() if self.websockets.enabled else {}
        emails: list[tuple[str, str]] = []
        for notification in notifications:
            user_prefs = prefs[notification.user_id]
            urgent = notification.priority == Priority.URGENT
            wants_in_app = user_prefs.channel_enabled(notification.type, "in_app") and notification.user_id in connected
            wants_email = user_prefs.channel_enabled(notification.type, "email")
            if not (wants_in_app or wants_email):
                continue
            cap = user_prefs.max_notifications_per_hour
            if not urgent and cap and not self._take_hourly_slot(notification.user_id, cap):
                counts["capped"] += 1
                continue
            if wants_in_app:
                payload = frame("notification", {"notification": public(notification)})
                counts["websocket_frames"] += self.websockets.send_frame(connected[notification.user_id], payload).sent
            if wants_email:
                release = None if urgent else user_prefs.quiet_hours_release()
                if release is not None:
                    self._record(notification, DeliveryReport(email="held"))
                    HeldDeliveryModel(
                        queue=HELD_QUEUE,
                        release_key=f"{isoformat_z(release)}#{notification.user_id}#{notification.id}",
                        user_id=notification.user_id,
                        notification_id=notification.id,
                        channels={"email"},
                        release_at=release,
                    ).save()
                    counts["held"] += 1
                elif self.email_queue is not None:
                    emails.append((notification.user_id, notification.id))
        if emails and self.email_queue is not None:
            enqueue_many = getattr(self.email_queue, "enqueue_many", None)
            if enqueue_many is not None:
                enqueue_many(emails)
            else:
                for user_id, notification_id in emails:
                    self.email_queue.enqueue(user_id, notification_id)
            for user_id, notification_id in emails:
                try:
                    NotificationModel(user_id=user_id, id=notification_id).update(
                        actions=[NotificationModel.email_status.set("queued")],
                        condition=NotificationModel.id.exists(),
                    )
                except UpdateError:
                    continue  # deleted by its owner meanwhile
            counts["emails_queued"] = len(emails)
        return counts

    def release_held(self, now: datetime | None = None, limit: int = 500) -> int:
        """Deliver what quiet hours held back and whose release time has come (scheduled job)."""
        now = now or utcnow()
        released = 0
        upper = f"{isoformat_z(now)}#~"
        for held in HeldDeliveryModel.query(HELD_QUEUE, HeldDeliveryModel.release_key <= upper, limit=limit):
            try:
                notification = NotificationModel.get(held.user_id, held.notification_id, consistent_read=True)
            except DoesNotExist:
                held.delete()
                continue
            report = DeliveryReport(email="off", push="off")
            if "email" in held.channels:
                report.email = self._queue_email(notification)
            if "push" in held.channels:
                report.push = self._send_push(notification)
            self._record(notification, report, channels=held.channels)
            held.delete()
            released += 1
        return released

    def _queue_email(self, notification: NotificationModel) -> str:
        if self.email_queue is None:
            return "unavailable"
        self.email_queue.enqueue(notification.user_id, notification.id)
        return "queued"

    def _send_push(self, notification: NotificationModel) -> str:
        if not self.push.available:
            return "unavailable"
        return self.push.send(
            PushMessage(
                notification.user_id,
                notification.title,
                notification.message,
                {"notification_id": notification.id, "type": notification.type},
            )
        )

    @staticmethod
    def _record(notification: NotificationModel, report: DeliveryReport, channels: Iterable[str] | None = None) -> None:
        which = set(channels) if channels is not None else {"realtime", "email", "push"}
        actions: list[Any] = [NotificationModel.delivered_at.set(utcnow())]
        if "realtime" in which:
            actions.append(NotificationModel.realtime_status.set(report.realtime))
        if "email" in which and notification.email_status != "sent":
            actions.append(NotificationModel.email_status.set(report.email))
        if "push" in which:
            actions.append(NotificationModel.push_status.set(report.push))
        try:
            notification.update(actions=actions, condition=NotificationModel.id.exists())
        except UpdateError:
            logger.info("notification deleted during delivery", extra={"notification_id": notification.id})

    def _take_hourly_slot(self, user_id: str, limit: int) -> bool:
        """One delivery of this hour, if fewer than ``limit`` went out (exact under concurrency)."""
        now = utcnow()
        hour = now.strftime("%Y%m%d%H")
        try:
            NotificationKeyModel(key=f"hour#{user_id}#{hour}").update(
                actions=[
                    NotificationKeyModel.tally.add(1),
                    NotificationKeyModel.expires_at.set(now + timedelta(hours=2)),
                ],
                condition=NotificationKeyModel.tally.does_not_exist() | (NotificationKeyModel.tally < limit),
            )
        except UpdateError:
            metrics.add_metric(name="NotificationCapped", unit="Count", value=1)
            return False
        return True

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
            return True
        marker = self._marker(notification.user_id, source_key, notification.id, now)
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.save(notification, condition=NotificationModel.id.does_not_exist())
                transaction.save(marker, condition=NotificationKeyModel.key.does_not_exist())
        except TransactWriteError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def _repeated(self, user_id: str, source_key: str, deliver: bool) -> NotificationModel | None:
        """The notification an earlier delivery of the same cause made (delivered now if it was not)."""
        marker = NotificationKeyModel.get(f"source#{source_key}#{user_id}", consistent_read=True)
        try:
            existing = NotificationModel.get(user_id, marker.notification_id or "", consistent_read=True)
        except DoesNotExist:
            return None  # deleted by its owner: a redelivered event must not bring it back
        if deliver and existing.delivered_at is None:
            self.send_notification(existing)
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
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            return _RETRY  # read or changed meanwhile: the caller reads again and decides
        except TransactWriteError as exc:
            # pynamodb sends a transaction's puts before its updates: [marker, group update].
            codes = [*_cancellation_codes(exc), "None", "None"]
            marker_failed, update_failed = (code == "ConditionalCheckFailed" for code in codes[:2])
            if marker_failed:
                return _DUPLICATE
            if update_failed:
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
        except PutError:
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
                return attempt + 1, retried
            retried += len(requests)
            time.sleep(min(2.0, 0.05 * 2**attempt))
        raise RuntimeError(f"BatchWriteItem left {len(requests)} notifications unwritten after retries")

    @staticmethod
    def _validate(notification_type: str, title: str, message: str, priority: str | None) -> tuple[Any, str]:
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
