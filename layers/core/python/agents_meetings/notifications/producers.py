"""Domain events -> notifications: who hears of what, in the product's words.

Recipients: meeting_started / meeting_ended to the invited participants (the host acted); joins and
leaves to the host (grouped: "3 participants joined"); recordings and transcripts to the host and
every participant; account events to the account's owner; feedback and ratings to the teacher or
host they are about; an answered question to whoever asked it; maintenance, new features and
announcements to everyone (or one role) as one batch. Every notification's ``source_key`` is the
event id, so a redelivered event creates nothing new. ``PRODUCERS`` maps each event that notifies
someone to its producer: the notify rule's pattern (infra/catalog.py) is derived from its keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from agents_meetings.events.catalog import DomainEvent
from agents_meetings.notifications.catalog import NotificationType
from agents_meetings.notifications.service import NotificationService
from agents_meetings.tables import MeetingModel, ParticipantModel, UserModel

AUDIENCE_ALL = "all"


@dataclass(frozen=True)
class ProducedNotifications:
    event: str
    notifications: int
    broadcast: bool = False


def _meeting(meeting_id: str) -> MeetingModel | None:
    try:
        return MeetingModel.get(meeting_id)
    except DoesNotExist:
        return None


def _name(user_id: str) -> str:
    try:
        return str(UserModel.get(user_id).full_name)
    except DoesNotExist:
        return "Someone"


def _participants(meeting_id: str) -> list[str]:
    return [p.user_id for p in ParticipantModel.query(meeting_id)]


def active_users(audience: str) -> Iterator[str]:
    """Approved, active users (everyone, or one role): the audience of a broadcast."""
    if audience == AUDIENCE_ALL:
        users: Any = UserModel.by_active.query("active")
    else:
        users = UserModel.by_role.query(audience, filter_condition=UserModel.active_key == "active")
    for user in users:
        if user.status == "approved":
            yield str(user.id)


class NotificationProducer:
    def __init__(self, service: NotificationService):
        self.service = service

    def handle(self, detail_type: str, detail: dict[str, Any]) -> ProducedNotifications:
        producer = PRODUCERS.get(DomainEvent(detail_type))
        if producer is None:
            return ProducedNotifications(detail_type, 0)
        return producer(self, detail, str(detail["event_id"]))

    def _notify(
        self,
        users: list[str],
        source: str,
        type_: NotificationType,
        title: str,
        message: str,
        data: dict[str, Any],
        **kwargs: Any,
    ) -> int:
        count = 0
        for user_id in dict.fromkeys(users):
            self.service.create_notification(user_id, type_.value, title, message, data, source_key=source, **kwargs)
            count += 1
        return count

    def _meeting_frame(self, meeting_id: str, kind: str, payload: dict[str, Any]) -> None:
        """Live roster/status for clients subscribed to the meeting (not stored)."""
        if self.service.websockets.enabled:
            self.service.websockets.broadcast_to_meeting(meeting_id, {"event": kind, **payload})

    # --- meetings ---------------------------------------------------------------------------

    def _on_meeting_started(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        meeting = _meeting(detail["meeting_id"])
        title = meeting.title if meeting else "A meeting"
        data = {"meeting_id": detail["meeting_id"], "meeting_title": title, "host_id": detail["host_id"]}
        users = [u for u in _participants(detail["meeting_id"]) if u != detail["host_id"]]
        count = self._notify(
            users,
            source,
            NotificationType.MEETING_STARTED,
            f"{title} has started",
            f"{title} has started. Join now.",
            data,
        )
        self._meeting_frame(detail["meeting_id"], "meeting_started", data)
        return ProducedNotifications(DomainEvent.MEETING_STARTED, count)

    def _on_meeting_ended(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        meeting = _meeting(detail["meeting_id"])
        title = meeting.title if meeting else "A meeting"
        data = {"meeting_id": detail["meeting_id"], "meeting_title": title}
        users = [u for u in _participants(detail["meeting_id"]) if u != detail["host_id"]]
        count = self._notify(
            users, source, NotificationType.MEETING_ENDED, f"{title} has ended", f"{title} has ended.", data
        )
        self._meeting_frame(detail["meeting_id"], "meeting_ended", data)
        return ProducedNotifications(DomainEvent.MEETING_ENDED, count)

    def _participant_change(self, detail: dict[str, Any], source: str, joined: bool) -> ProducedNotifications:
        meeting = _meeting(detail["meeting_id"])
        event = DomainEvent.PARTICIPANT_JOINED if joined else DomainEvent.PARTICIPANT_LEFT
        if meeting is None:
            return ProducedNotifications(event, 0)
        name = _name(detail["user_id"])
        verb = "joined" if joined else "left"
        type_ = NotificationType.PARTICIPANT_JOINED if joined else NotificationType.PARTICIPANT_LEFT
        data = {
            "meeting_id": meeting.id,
            "meeting_title": meeting.title,
            "user_id": detail["user_id"],
            "user_name": name,
        }
        if detail["user_id"] == meeting.host_id:
            self._meeting_frame(meeting.id, f"participant_{verb}", data)
            return ProducedNotifications(event, 0)
        count = self._notify(
            [meeting.host_id],
            source,
            type_,
            f"{name} {verb}",
            f"{name} {verb} {meeting.title}.",
            data,
            group_key=f"{type_.value}#{meeting.id}",
        )
        self._meeting_frame(meeting.id, f"participant_{verb}", data)  # after the stored notification
        return ProducedNotifications(event, count)

    def _on_participant_joined(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        return self._participant_change(detail, source, joined=True)

    def _on_participant_left(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        return self._participant_change(detail, source, joined=False)

    def _on_recording_completed(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        meeting = _meeting(detail["meeting_id"])
        title = meeting.title if meeting else "your meeting"
        data = {"meeting_id": detail["meeting_id"], "meeting_title": title, "recording_id": detail["recording_id"]}
        users = [detail["host_id"], *_participants(detail["meeting_id"])]
        minutes = max(1, round(float(detail.get("duration_seconds") or 0) / 60))
        count = self._notify(
            users,
            source,
            NotificationType.RECORDING_AVAILABLE,
            "Recording available",
            f"The recording of {title} ({minutes} min) is ready to watch.",
            data,
        )
        return ProducedNotifications(DomainEvent.RECORDING_COMPLETED, count)

    def _on_transcript_ready(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        meeting = _meeting(detail["meeting_id"])
        title = meeting.title if meeting else "your meeting"
        data = {
            "meeting_id": detail["meeting_id"],
            "meeting_title": title,
            "recording_id": detail["recording_id"],
            "language": detail["language"],
        }
        users = [detail["host_id"], *_participants(detail["meeting_id"])]
        count = self._notify(
            users,
            source,
            NotificationType.TRANSCRIPT_AVAILABLE,
            "Transcript available",
            f"The {detail['language']} transcript of {title} is ready.",
            data,
        )
        return ProducedNotifications(DomainEvent.TRANSCRIPT_READY, count)

    # --- accounts ---------------------------------------------------------------------------

    def _on_user_approved(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        count = self._notify(
            [detail["user_id"]],
            source,
            NotificationType.ACCOUNT_APPROVED,
            "Your account is approved",
            "Your Agents-Meetings account has been approved. You can sign in now.",
            {},
        )
        return ProducedNotifications(DomainEvent.USER_APPROVED, count)

    def _on_user_rejected(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        count = self._notify(
            [detail["user_id"]],
            source,
            NotificationType.ACCOUNT_REJECTED,
            "Your account request was declined",
            "Your Agents-Meetings account request was declined. "
            "Contact an administrator if you think this is a mistake.",
            {},
        )
        return ProducedNotifications(DomainEvent.USER_REJECTED, count)

    def _on_user_role_changed(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        data = {"old_role": detail["old_role"], "new_role": detail["new_role"]}
        count = self._notify(
            [detail["user_id"]],
            source,
            NotificationType.ROLE_CHANGED,
            "Your role has changed",
            f"Your role changed from {detail['old_role']} to {detail['new_role']}.",
            data,
        )
        return ProducedNotifications(DomainEvent.USER_ROLE_CHANGED, count)

    def _on_user_profile_updated(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        fields = [str(f) for f in detail.get("fields") or []]
        count = self._notify(
            [detail["user_id"]],
            source,
            NotificationType.PROFILE_UPDATED,
            "Your profile was updated",
            f"Your profile was updated ({', '.join(fields) or 'details'}).",
            {"fields": fields},
        )
        return ProducedNotifications(DomainEvent.USER_PROFILE_UPDATED, count)

    # --- feedback ---------------------------------------------------------------------------

    def _on_feedback_received(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        meeting = _meeting(detail["meeting_id"])
        title = meeting.title if meeting else "your meeting"
        data = {"meeting_id": detail["meeting_id"], "meeting_title": title, "feedback_id": detail["feedback_id"]}
        count = self._notify(
            [detail["recipient_id"]],
            source,
            NotificationType.NEW_FEEDBACK_RECEIVED,
            "New feedback",
            f"{_name(detail['from_user_id'])} left feedback on {title}.",
            data,
            group_key=f"feedback#{detail['meeting_id']}",
        )
        return ProducedNotifications(DomainEvent.FEEDBACK_RECEIVED, count)

    def _on_rating_received(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        meeting = _meeting(detail["meeting_id"])
        title = meeting.title if meeting else "your meeting"
        data = {
            "meeting_id": detail["meeting_id"],
            "meeting_title": title,
            "rating_id": detail["rating_id"],
            "rating": detail["rating"],
        }
        count = self._notify(
            [detail["recipient_id"]],
            source,
            NotificationType.RATING_RECEIVED,
            "New rating",
            f"{title} was rated {detail['rating']}.",
            data,
            group_key=f"rating#{detail['meeting_id']}",
        )
        return ProducedNotifications(DomainEvent.RATING_RECEIVED, count)

    def _on_question_answered(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        data = {"meeting_id": detail["meeting_id"], "question_id": detail["question_id"]}
        count = self._notify(
            [detail["asked_by"]],
            source,
            NotificationType.QUESTION_ANSWERED,
            "Your question was answered",
            f"{_name(detail['answered_by'])} answered your question.",
            data,
        )
        return ProducedNotifications(DomainEvent.QUESTION_ANSWERED, count)

    # --- platform-wide ----------------------------------------------------------------------

    def _broadcast(
        self,
        event: DomainEvent,
        detail: dict[str, Any],
        source: str,
        type_: NotificationType,
        title: str,
        message: str,
        data: dict[str, Any],
        priority: str | None = None,
    ) -> ProducedNotifications:
        users = list(active_users(str(detail.get("audience") or AUDIENCE_ALL)))
        result = self.service.batch_create_notifications(
            users, type_.value, title, message, data, priority=priority, source_key=source
        )
        return ProducedNotifications(event, len(result.notification_ids), broadcast=True)

    def _on_system_maintenance_scheduled(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        return self._broadcast(
            DomainEvent.SYSTEM_MAINTENANCE_SCHEDULED,
            detail,
            source,
            NotificationType.SYSTEM_MAINTENANCE_SCHEDULED,
            "Scheduled maintenance",
            f"Maintenance from {detail['starts_at']} to {detail['ends_at']}: {detail['description']}",
            {
                "maintenance_id": detail["maintenance_id"],
                "starts_at": detail["starts_at"],
                "ends_at": detail["ends_at"],
            },
        )

    def _on_new_feature_released(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        return self._broadcast(
            DomainEvent.NEW_FEATURE_RELEASED,
            detail,
            source,
            NotificationType.NEW_FEATURE_AVAILABLE,
            f"New: {detail['title']}",
            str(detail["description"]),
            {"feature_id": detail["feature_id"], **({"url": str(detail["url"])} if detail.get("url") else {})},
        )

    def _on_announcement_published(self, detail: dict[str, Any], source: str) -> ProducedNotifications:
        return self._broadcast(
            DomainEvent.ANNOUNCEMENT_PUBLISHED,
            detail,
            source,
            NotificationType.ANNOUNCEMENT,
            str(detail["title"]),
            str(detail["message"]),
            {"announcement_id": detail["announcement_id"]},
            priority=str(detail["priority"]),
        )


Producer = Callable[[NotificationProducer, dict[str, Any], str], ProducedNotifications]
# Every event that notifies someone -> what it produces (the dispatch and the notify rule's pattern).
PRODUCERS: dict[DomainEvent, Producer] = {
    DomainEvent.MEETING_STARTED: NotificationProducer._on_meeting_started,
    DomainEvent.MEETING_ENDED: NotificationProducer._on_meeting_ended,
    DomainEvent.PARTICIPANT_JOINED: NotificationProducer._on_participant_joined,
    DomainEvent.PARTICIPANT_LEFT: NotificationProducer._on_participant_left,
    DomainEvent.RECORDING_COMPLETED: NotificationProducer._on_recording_completed,
    DomainEvent.TRANSCRIPT_READY: NotificationProducer._on_transcript_ready,
    DomainEvent.USER_APPROVED: NotificationProducer._on_user_approved,
    DomainEvent.USER_REJECTED: NotificationProducer._on_user_rejected,
    DomainEvent.USER_ROLE_CHANGED: NotificationProducer._on_user_role_changed,
    DomainEvent.USER_PROFILE_UPDATED: NotificationProducer._on_user_profile_updated,
    DomainEvent.FEEDBACK_RECEIVED: NotificationProducer._on_feedback_received,
    DomainEvent.RATING_RECEIVED: NotificationProducer._on_rating_received,
    DomainEvent.QUESTION_ANSWERED: NotificationProducer._on_question_answered,
    DomainEvent.SYSTEM_MAINTENANCE_SCHEDULED: NotificationProducer._on_system_maintenance_scheduled,
    DomainEvent.NEW_FEATURE_RELEASED: NotificationProducer._on_new_feature_released,
    DomainEvent.ANNOUNCEMENT_PUBLISHED: NotificationProducer._on_announcement_published,
}
NOTIFIED_EVENTS: tuple[DomainEvent, ...] = tuple(PRODUCERS)
