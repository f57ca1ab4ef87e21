"""Delivery of stored notifications: one planner decides, for every path that delivers (one
notification, a group's update, a broadcast's fan-out, the release of held deliveries), which
channels the owner's preferences want, whether the hourly cap stops it and whether quiet hours hold
email and push back; the fan-out then sends over WebSocket, the email queue and push.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.notifications.catalog import Priority
from agents_meetings.notifications.conditions import is_condition_failure, update_if_present
from agents_meetings.notifications.email import EmailQueue
from agents_meetings.notifications.inbox import public
from agents_meetings.notifications.preferences import Preferences, PreferenceService
from agents_meetings.notifications.push import PushMessage, PushSender
from agents_meetings.notifications.websocket import WebSocketManager, frame
from agents_meetings.observability import emit_dimensioned, logger, metrics
from agents_meetings.tables import HeldDeliveryModel, NotificationKeyModel, NotificationModel

HELD_QUEUE = "held"
CHANNELS = ("in_app", "email", "push")
HOLDABLE = frozenset({"email", "push"})  # quiet hours hold these back; in-app is never held


def delivered(channel: str, notification: NotificationModel | None, count: int = 1) -> None:
    """``NotificationsDelivered`` per channel: ``in_app`` (a WebSocket frame reached the user),
    ``email`` (the provider accepted it: the email worker), ``push``; the ids in metadata. A
    broadcast's fan-out counts its in-app deliveries in one document (``count``, no ids)."""
    metadata = {"notification_id": notification.id, "notification_type": notification.type} if notification else {}
    emit_dimensioned({"NotificationsDelivered": ("Count", count)}, {"channel": channel}, metadata)


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
class DeliveryPlan:
    """What one delivery does with one notification: the channels wanted, and whether the hourly cap
    stopped them all or quiet hours (ending at ``release``) hold the holdable ones back."""

    wanted: frozenset[str]
    capped: bool = False
    release: datetime | None = None

    def withheld(self, channel: str) -> str | None:
        """``capped`` or ``held`` when ``channel`` does not go out now; None when it does."""
        if self.capped:
            return "capped"
        if self.release is not None and channel in HOLDABLE:
            return "held"
        return None

    @property
    def held(self) -> set[str]:
        return {channel for channel in self.wanted if self.withheld(channel) == "held"}


@dataclass
class DeliveryPlanner:
    """Plans and sends deliveries over its channels (the facade builds it with the defaults)."""

    websockets: WebSocketManager
    email_queue: EmailQueue | None
    push: PushSender
    preferences: PreferenceService

    # --- the plan --------------------------------------------------------------------------

    def plan(
        self,
        notification: NotificationModel,
        prefs: Preferences,
        channels: Iterable[str] = CHANNELS,
        *,
        urgent_uncapped: bool = True,
    ) -> DeliveryPlan:
        """The channels among ``channels`` the owner wants; one slot of the hourly cap taken when any
        is wanted (urgent excepted unless ``urgent_uncapped`` is off); the quiet hours' end when email
        or push would wait for it (urgent never waits)."""
        urgent = notification.priority == Priority.URGENT
        wanted = frozenset(channel for channel in channels if prefs.channel_enabled(notification.type, channel))
        cap = prefs.max_notifications_per_hour
        capped = bool(
            wanted
            and not (urgent and urgent_uncapped)
            and cap
            and not self._take_hourly_slot(notification.user_id, cap)
        )
        holds = not urgent and not capped and bool(wanted & HOLDABLE)
        return DeliveryPlan(wanted, capped, prefs.quiet_hours_release() if holds else None)

    # --- the paths that deliver ------------------------------------------------------------

    def deliver(self, notification: NotificationModel, prefs: Preferences) -> DeliveryReport:
        """One notification on every channel its owner's preferences allow, with the outcome recorded."""
        plan = self.plan(notification, prefs)
        report = self._send(notification, plan, DeliveryReport(capped=plan.capped))
        if plan.held and plan.release is not None:
            self._hold(notification, plan.held, plan.release)
        self._record(notification, report)
        return report

    def deliver_group_update(self, notification: NotificationModel, prefs: Preferences) -> None:
        """A grouped notification changed: only the in-app channel hears of it again (under the
        hourly cap whatever its priority)."""
        reachable = ("in_app",) if self.websockets.enabled else ()
        plan = self.plan(notification, prefs, reachable, urgent_uncapped=False)
        if plan.wanted and not plan.capped:
            self._send(notification, plan, DeliveryReport())

    def deliver_many(self, notifications: Sequence[NotificationModel]) -> dict[str, int]:
        """Fan-out of a broadcast: preferences by BatchGetItem, WebSocket frames to the users who are
        connected (one scan of connections, not a query per user), emails queued in batches."""
        counts = {"websocket_frames": 0, "emails_queued": 0, "held": 0, "capped": 0}
        reached = 0
        emails: list[tuple[str, str]] = []
        prefs = self.preferences.get_many([n.user_id for n in notifications])
        connected = self.websockets.all_connections() if self.websockets.enabled else {}
        for notification in notifications:
            reachable = ("in_app", "email") if notification.user_id in connected else ("email",)
            plan = self.plan(notification, prefs[notification.user_id], reachable)
            if not plan.wanted:
                continue
            if plan.capped:
                counts["capped"] += 1
                continue
            if "in_app" in plan.wanted:
                payload = frame("notification", {"notification": public(notification)})
                sent = self.websockets.send_frame(connected[notification.user_id], payload).sent
                counts["websocket_frames"] += sent
                reached += 1 if sent else 0
            if "email" in plan.wanted:
                if plan.held and plan.release is not None:
                    self._record(notification, DeliveryReport(email="held"))
                    self._hold(notification, plan.held, plan.release)
                    counts["held"] += 1
                elif self.email_queue is not None:
                    emails.append((notification.user_id, notification.id))
        if emails and self.email_queue is not None:
            self._queue_emails(emails)
            counts["emails_queued"] = len(emails)
        if reached:
            delivered("in_app", None, reached)
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
            report = self._send(notification, DeliveryPlan(frozenset(held.channels)), DeliveryReport())
            self._record(notification, report, channels=held.channels)
            held.delete()
            released += 1
        return released

    # --- the fan-out -----------------------------------------------------------------------

    def _send(self, notification: NotificationModel, plan: DeliveryPlan, report: DeliveryReport) -> DeliveryReport:
        """Each wanted channel: sent now, or marked capped / held as the plan says."""
        if "in_app" in plan.wanted:
            report.realtime = plan.withheld("in_app") or self._send_realtime(notification, report)
        if "email" in plan.wanted:
            report.email = plan.withheld("email") or self._queue_email(notification)
        if "push" in plan.wanted:
            report.push = plan.withheld("push") or self._send_push(notification)
        return report

    def _send_realtime(self, notification: NotificationModel, report: DeliveryReport) -> str:
        if not self.websockets.enabled:
            return "unavailable"
        result = self.websockets.broadcast_to_user(notification.user_id, public(notification))
        report.websocket_frames = result.sent
        if not result.sent:
            return "no_connection"
        delivered("in_app", notification)
        return "sent"

    def _queue_email(self, notification: NotificationModel) -> str:
        if self.email_queue is None:
            return "unavailable"
        self.email_queue.enqueue(notification.user_id, notification.id)
        return "queued"

    def _queue_emails(self, emails: list[tuple[str, str]]) -> None:
        """A broadcast's emails, in batches when the queue takes them so; each marked queued."""
        assert self.email_queue is not None
        enqueue_many = getattr(self.email_queue, "enqueue_many", None)
        if enqueue_many is not None:
            enqueue_many(emails)
        else:
            for user_id, notification_id in emails:
                self.email_queue.enqueue(user_id, notification_id)
        for user_id, notification_id in emails:
            queued = [NotificationModel.email_status.set("queued")]
            update_if_present(NotificationModel(user_id=user_id, id=notification_id), queued)  # unless deleted

    def _send_push(self, notification: NotificationModel) -> str:
        if not self.push.available:
            return "unavailable"
        outcome = self.push.send(
            PushMessage(
                notification.user_id,
                notification.title,
                notification.message,
                {"notification_id": notification.id, "type": notification.type},
            )
        )
        if outcome == "sent":
            delivered("push", notification)
        return outcome

    @staticmethod
    def _hold(notification: NotificationModel, channels: set[str], release: datetime) -> None:
        """Park the held channels until ``release`` (the minute job sends them then)."""
        HeldDeliveryModel(
            queue=HELD_QUEUE,
            release_key=f"{isoformat_z(release)}#{notification.user_id}#{notification.id}",
            user_id=notification.user_id,
            notification_id=notification.id,
            channels=channels,
            release_at=release,
        ).save()

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
        if not update_if_present(notification, actions):
            logger.info("notification deleted during delivery", extra={"notification_id": notification.id})

    @staticmethod
    def _take_hourly_slot(user_id: str, limit: int) -> bool:
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
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            metrics.add_metric(name="NotificationCapped", unit="Count", value=1)
            return False
        return True
