"""Every domain event the platform emits, declared once.

EventBridge detail-type = the event name; source = ``agents-meetings.<domain>``. CDK rules, the
local runtime's router and the workers all refer to these members, never to string copies.
"""

from __future__ import annotations

from enum import StrEnum

SOURCE_PREFIX = "agents-meetings"


class DomainEvent(StrEnum):
    USER_REGISTERED = "UserRegistered"
    USER_APPROVED = "UserApproved"
    USER_REJECTED = "UserRejected"
    USER_ROLE_CHANGED = "UserRoleChanged"
    USER_PROFILE_UPDATED = "UserProfileUpdated"
    USER_PASSWORD_CHANGED = "UserPasswordChanged"  # noqa: S105 - an event name
    MEETING_CREATED = "MeetingCreated"
    MEETING_STARTED = "MeetingStarted"
    MEETING_ENDED = "MeetingEnded"
    PARTICIPANT_JOINED = "ParticipantJoined"
    PARTICIPANT_LEFT = "ParticipantLeft"
    MEETING_UPDATED = "MeetingUpdated"
    RECORDING_STARTED = "RecordingStarted"
    RECORDING_STOPPED = "RecordingStopped"
    RECORDING_COMPLETED = "RecordingCompleted"
    RECORDING_FAILED = "RecordingFailed"
    TRANSCRIPT_READY = "TranscriptReady"
    MATERIAL_UPLOADED = "MaterialUploaded"
    MATERIAL_DELETED = "MaterialDeleted"
    SEARCH_REINDEX_REQUESTED = "SearchReindexRequested"
    # Notifications (spec 1.2): feedback and Q&A features publish these; the platform ones come from admins.
    FEEDBACK_RECEIVED = "FeedbackReceived"
    RATING_RECEIVED = "RatingReceived"
    QUESTION_ANSWERED = "QuestionAnswered"
    SYSTEM_MAINTENANCE_SCHEDULED = "SystemMaintenanceScheduled"
    NEW_FEATURE_RELEASED = "NewFeatureReleased"
    ANNOUNCEMENT_PUBLISHED = "AnnouncementPublished"

    @property
    def domain(self) -> str:
        return _DOMAINS[self]

    @property
    def source(self) -> str:
        return f"{SOURCE_PREFIX}.{self.domain}"


# What ``build_detail`` adds to every detail: consumers must accept these beside an event's fields.
ENVELOPE_FIELDS = frozenset({"event_id", "occurred_at", "metadata"})

_DOMAINS: dict[DomainEvent, str] = {
    DomainEvent.USER_REGISTERED: "users",
    DomainEvent.USER_APPROVED: "users",
    DomainEvent.USER_REJECTED: "users",
    DomainEvent.USER_ROLE_CHANGED: "users",
    DomainEvent.USER_PROFILE_UPDATED: "users",
    DomainEvent.USER_PASSWORD_CHANGED: "users",
    DomainEvent.MEETING_CREATED: "meetings",
    DomainEvent.MEETING_STARTED: "meetings",
    DomainEvent.MEETING_ENDED: "meetings",
    DomainEvent.PARTICIPANT_JOINED: "meetings",
    DomainEvent.PARTICIPANT_LEFT: "meetings",
    DomainEvent.MEETING_UPDATED: "meetings",
    DomainEvent.RECORDING_STARTED: "recordings",
    DomainEvent.RECORDING_STOPPED: "recordings",
    DomainEvent.RECORDING_COMPLETED: "recordings",
    DomainEvent.RECORDING_FAILED: "recordings",
    DomainEvent.TRANSCRIPT_READY: "recordings",
    DomainEvent.MATERIAL_UPLOADED: "materials",
    DomainEvent.MATERIAL_DELETED: "materials",
    DomainEvent.SEARCH_REINDEX_REQUESTED: "platform",
    DomainEvent.FEEDBACK_RECEIVED: "feedback",
    DomainEvent.RATING_RECEIVED: "feedback",
    DomainEvent.QUESTION_ANSWERED: "feedback",
    DomainEvent.SYSTEM_MAINTENANCE_SCHEDULED: "platform",
    DomainEvent.NEW_FEATURE_RELEASED: "platform",
    DomainEvent.ANNOUNCEMENT_PUBLISHED: "notifications",
}

# Keys every event's detail carries besides ``event_id``, ``occurred_at`` and ``metadata`` (the
# contract consumers rely on; tests check each published event against it). ``metadata`` holds
# ``correlation_id`` (always) and ``trace_header`` (when traced): see ``ENVELOPE_FIELDS``.
REQUIRED_FIELDS: dict[DomainEvent, frozenset[str]] = {
    DomainEvent.USER_REGISTERED: frozenset({"user_id", "email", "role", "status"}),
    DomainEvent.USER_APPROVED: frozenset({"user_id", "approved_by"}),
    DomainEvent.USER_REJECTED: frozenset({"user_id", "rejected_by"}),
    DomainEvent.USER_ROLE_CHANGED: frozenset({"user_id", "old_role", "new_role", "changed_by"}),
    DomainEvent.USER_PROFILE_UPDATED: frozenset({"user_id", "fields"}),
    # method: "change" (the user, knowing the old one) or "reset" (through the emailed link).
    DomainEvent.USER_PASSWORD_CHANGED: frozenset({"user_id", "method"}),
    DomainEvent.MEETING_CREATED: frozenset({"meeting_id", "host_id", "title", "scheduled_at", "meeting_type"}),
    DomainEvent.MEETING_STARTED: frozenset({"meeting_id", "host_id", "room_name", "auto_record", "languages"}),
    DomainEvent.MEETING_ENDED: frozenset({"meeting_id", "host_id", "started_at", "ended_at"}),
    DomainEvent.PARTICIPANT_JOINED: frozenset({"meeting_id", "user_id", "joined_at"}),
    DomainEvent.PARTICIPANT_LEFT: frozenset({"meeting_id", "user_id", "joined_at", "left_at"}),
    # fields: the names of the attributes that changed (title, description, scheduled_at, status, ...).
    DomainEvent.MEETING_UPDATED: frozenset({"meeting_id", "host_id", "fields"}),
    DomainEvent.RECORDING_STARTED: frozenset({"recording_id", "meeting_id", "started_by", "output_format"}),
    DomainEvent.RECORDING_STOPPED: frozenset({"recording_id", "meeting_id", "stopped_by"}),
    DomainEvent.RECORDING_COMPLETED: frozenset({"recording_id", "meeting_id", "host_id", "duration_seconds"}),
    DomainEvent.RECORDING_FAILED: frozenset({"recording_id", "meeting_id", "error_message"}),
    DomainEvent.TRANSCRIPT_READY: frozenset(
        {"recording_id", "meeting_id", "host_id", "language", "transcription_job_id", "storage_path"}
    ),
    DomainEvent.MATERIAL_UPLOADED: frozenset({"material_id", "owner_id", "storage_key", "content_type"}),
    DomainEvent.MATERIAL_DELETED: frozenset({"material_id", "owner_id"}),
    # entity_type: meeting | user | transcript | material; job_id: the search-index-jobs row.
    DomainEvent.SEARCH_REINDEX_REQUESTED: frozenset({"entity_type", "job_id", "requested_by"}),
    # recipient_id: the teacher/host the feedback or rating is about (notified).
    DomainEvent.FEEDBACK_RECEIVED: frozenset({"feedback_id", "meeting_id", "recipient_id", "from_user_id"}),
    DomainEvent.RATING_RECEIVED: frozenset({"rating_id", "meeting_id", "recipient_id", "from_user_id", "rating"}),
    DomainEvent.QUESTION_ANSWERED: frozenset({"question_id", "meeting_id", "asked_by", "answered_by"}),
    # audience: "all" or a role (admin, teacher, host, participant).
    DomainEvent.SYSTEM_MAINTENANCE_SCHEDULED: frozenset(
        {"maintenance_id", "starts_at", "ends_at", "description", "audience"}
    ),
    DomainEvent.NEW_FEATURE_RELEASED: frozenset({"feature_id", "title", "description", "audience"}),
    DomainEvent.ANNOUNCEMENT_PUBLISHED: frozenset(
        {"announcement_id", "title", "message", "priority", "audience", "published_by"}
    ),
}
