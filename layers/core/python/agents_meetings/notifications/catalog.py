"""Every notification type of spec 1.2 with its category, default priority and default channels."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class Category(StrEnum):
    MEETING = "meeting"
    USER = "user"
    SYSTEM = "system"
    ANNOUNCEMENT = "announcement"
    FEEDBACK = "feedback"


class NotificationType(StrEnum):
    MEETING_STARTING = "meeting_starting"
    MEETING_STARTED = "meeting_started"
    MEETING_ENDED = "meeting_ended"
    PARTICIPANT_JOINED = "participant_joined"
    PARTICIPANT_LEFT = "participant_left"
    RECORDING_AVAILABLE = "recording_available"
    TRANSCRIPT_AVAILABLE = "transcript_available"
    ACCOUNT_APPROVED = "account_approved"
    ACCOUNT_REJECTED = "account_rejected"
    ROLE_CHANGED = "role_changed"
    PROFILE_UPDATED = "profile_updated"
    NEW_FEEDBACK_RECEIVED = "new_feedback_received"
    RATING_RECEIVED = "rating_received"
    QUESTION_ANSWERED = "question_answered"
    SYSTEM_MAINTENANCE_SCHEDULED = "system_maintenance_scheduled"
    NEW_FEATURE_AVAILABLE = "new_feature_available"
    ANNOUNCEMENT = "announcement"


@dataclass(frozen=True)
class TypeInfo:
    category: Category
    priority: Priority
    # Email by default (the user may turn it off); in-app is on for every type by default.
    email: bool
    # Similar notifications of this type collapse into one while unread ("3 participants joined").
    groupable: bool = False


TYPES: dict[NotificationType, TypeInfo] = {
    NotificationType.MEETING_STARTING: TypeInfo(Category.MEETING, Priority.HIGH, email=True),
    NotificationType.MEETING_STARTED: TypeInfo(Category.MEETING, Priority.HIGH, email=False),
    NotificationType.MEETING_ENDED: TypeInfo(Category.MEETING, Priority.LOW, email=False),
    NotificationType.PARTICIPANT_JOINED: TypeInfo(Category.MEETING, Priority.LOW, email=False, groupable=True),
    NotificationType.PARTICIPANT_LEFT: TypeInfo(Category.MEETING, Priority.LOW, email=False, groupable=True),
    NotificationType.RECORDING_AVAILABLE: TypeInfo(Category.MEETING, Priority.MEDIUM, email=True),
    NotificationType.TRANSCRIPT_AVAILABLE: TypeInfo(Category.MEETING, Priority.MEDIUM, email=True),
    NotificationType.ACCOUNT_APPROVED: TypeInfo(Category.USER, Priority.HIGH, email=True),
    NotificationType.ACCOUNT_REJECTED: TypeInfo(Category.USER, Priority.HIGH, email=True),
    NotificationType.ROLE_CHANGED: TypeInfo(Category.USER, Priority.MEDIUM, email=True),
    NotificationType.PROFILE_UPDATED: TypeInfo(Category.USER, Priority.LOW, email=False),
    NotificationType.NEW_FEEDBACK_RECEIVED: TypeInfo(Category.FEEDBACK, Priority.MEDIUM, email=False, groupable=True),
    NotificationType.RATING_RECEIVED: TypeInfo(Category.FEEDBACK, Priority.LOW, email=False, groupable=True),
    NotificationType.QUESTION_ANSWERED: TypeInfo(Category.FEEDBACK, Priority.MEDIUM, email=False),
    NotificationType.SYSTEM_MAINTENANCE_SCHEDULED: TypeInfo(Category.SYSTEM, Priority.HIGH, email=True),
    NotificationType.NEW_FEATURE_AVAILABLE: TypeInfo(Category.SYSTEM, Priority.LOW, email=False),
    NotificationType.ANNOUNCEMENT: TypeInfo(Category.ANNOUNCEMENT, Priority.MEDIUM, email=False),
}


def type_info(notification_type: str) -> TypeInfo:
    return TYPES[NotificationType(notification_type)]


# Title and message of a group of similar notifications, formatted with the latest item's data
# and ``count`` (how many the group holds).
GROUP_TEXT: dict[NotificationType, tuple[str, str]] = {
    NotificationType.PARTICIPANT_JOINED: (
        "{count} participants joined",
        "{count} participants joined {meeting_title}.",
    ),
    NotificationType.PARTICIPANT_LEFT: ("{count} participants left", "{count} participants left {meeting_title}."),
    NotificationType.NEW_FEEDBACK_RECEIVED: ("{count} new feedback items", "You received {count} new feedback items."),
    NotificationType.RATING_RECEIVED: ("{count} new ratings", "You received {count} new ratings."),
}


def group_text(notification_type: str, count: int, data: dict[str, object]) -> tuple[str, str]:
    title, message = GROUP_TEXT[NotificationType(notification_type)]
    values = {"meeting_title": "your meeting", **{k: v for k, v in data.items() if isinstance(v, str)}, "count": count}
    return title.format(**values), message.format(**values)
