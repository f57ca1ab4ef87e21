"""Every DynamoDB table of the platform, declared once as pynamodb models.

CDK (infra/constructs/data.py), the local runtime and the tests all build tables from
``TABLES`` through ``table_spec``; nothing else spells out a key schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from agents_meetings.settings import Settings, get_settings

USER_DIRECTORY = "users"


class PlatformModel(Model):
    """Base of every table model; ``bind_tables`` gives each its physical name and endpoint.

    ``on_write`` hooks run after each successful ``save``/``update``/``delete`` of an item of that
    model (the cache invalidates its entry there, before the response); a transaction's writes call
    ``written`` for what they changed.
    """

    logical_name: ClassVar[str] = ""
    ttl_attribute: ClassVar[str | None] = None
    _write_hooks: ClassVar[tuple[Callable[[Any], None], ...]] = ()

    @classmethod
    def on_write(cls, hook: Callable[[Any], None]) -> None:
        if hook not in cls._write_hooks:
            cls._write_hooks = (*cls._write_hooks, hook)

    def written(self) -> None:
        for hook in type(self)._write_hooks:
            hook(self)

    def save(self, *args: Any, **kwargs: Any) -> Any:
        result = super().save(*args, **kwargs)
        self.written()
        return result

    def update(self, *args: Any, **kwargs: Any) -> Any:
        result = super().update(*args, **kwargs)
        self.written()
        return result

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        result = super().delete(*args, **kwargs)
        self.written()
        return result

    class Meta:
        abstract = True
        table_name = "unbound"
        host: str | None = None
        region = "us-east-1"
        max_retry_attempts = 5
        base_backoff_ms = 25


# --- identity: accounts, two-factor, tokens, password resets, federated sign-in, sessions ---------


class UsersByRole(GlobalSecondaryIndex["UserModel"]):
    class Meta:
        index_name = "by_role"
        projection = AllProjection()

    role = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class UsersByActive(GlobalSecondaryIndex["UserModel"]):
    class Meta:
        index_name = "by_active"
        projection = AllProjection()

    active_key = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class UsersByCreated(GlobalSecondaryIndex["UserModel"]):
    """Every user, newest first: one partition (``directory`` is constant), fine at directory scale."""

    class Meta:
        index_name = "by_created"
        projection = AllProjection()

    directory = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class UsersByStatus(GlobalSecondaryIndex["UserModel"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class UserModel(PlatformModel):
    logical_name = "users"

    class Meta(PlatformModel.Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    full_name = UnicodeAttribute()
    role = UnicodeAttribute()
    status = UnicodeAttribute()
    is_active = BooleanAttribute(default=True)
    # DynamoDB keys cannot be booleans: the is_active GSI keys on "active"/"inactive".
    active_key = UnicodeAttribute(default="active")
    directory = UnicodeAttribute(default=USER_DIRECTORY)
    password_hash = UnicodeAttribute(null=True)
    # When the password was last set (null on accounts older than the field: created_at counts).
    password_changed_at = UTCDateTimeAttribute(null=True)
    # Tokens issued before this instant are refused (set by a password reset: every session ends).
    tokens_valid_after = UTCDateTimeAttribute(null=True)
    timezone = UnicodeAttribute(default="UTC")
    bio = UnicodeAttribute(null=True)
    expertise = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    by_role = UsersByRole()
    by_active = UsersByActive()
    by_status = UsersByStatus()
    by_created = UsersByCreated()


class UserEmailModel(PlatformModel):
    """Uniqueness item: one per lower-cased email, written in the same transaction as the user."""

    logical_name = "user-emails"

    class Meta(PlatformModel.Meta):
        pass

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()


class UserTwoFactorModel(PlatformModel):
    """Spec 3.1's user_2fa: one item per user. Secrets are KMS envelope-encrypted (agents_meetings.crypto)."""

    logical_name = "user-2fa"

    class Meta(PlatformModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    is_enabled = BooleanAttribute(default=False)
    secret_key = UnicodeAttribute(null=True)  # encrypted TOTP secret
    backup_codes = UnicodeAttribute(null=True)  # encrypted JSON list of backup-code hashes
    # Bumped on every change of backup_codes: removing a used code is conditional on it.
    backup_codes_version = NumberAttribute(default=0)
    # TOTP time-step of the last accepted code: a code of that step or earlier is a replay.
    last_used_timestep = NumberAttribute(null=True)
    sms_phone = UnicodeAttribute(null=True)  # encrypted E.164 number
    sms_code_hash = UnicodeAttribute(null=True)
    sms_code_expires_at = UTCDateTimeAttribute(null=True)
    sms_code_attempts = NumberAttribute(default=0)
    sms_window_start = UTCDateTimeAttribute(null=True)
    sms_sends = NumberAttribute(default=0)
    # A number being enrolled: it becomes sms_phone once the code texted to it comes back.
    sms_pending_phone = UnicodeAttribute(null=True)  # encrypted E.164 number
    sms_pending_code_hash = UnicodeAttribute(null=True)
    sms_pending_expires_at = UTCDateTimeAttribute(null=True)
    sms_pending_attempts = NumberAttribute(default=0)
    # Wrong second-factor codes at login, counted per window (brute-force guard).
    failed_window_start = UTCDateTimeAttribute(null=True)
    failed_attempts = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    enabled_at = UTCDateTimeAttribute(null=True)


class RevokedTokenModel(PlatformModel):
    """Deny list of token ids (logout, refresh rotation); expires with the token."""

    logical_name = "revoked-tokens"
    ttl_attribute = "expires_at"

    class Meta(PlatformModel.Meta):
        pass

    jti = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    expires_at = TTLAttribute()


class PasswordResetsByUser(GlobalSecondaryIndex["PasswordResetModel"]):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class PasswordResetModel(PlatformModel):
    """Spec 3.1's password_resets. Keyed by the token's SHA-256 (never the token itself), so that
    confirming a reset is one consistent read; ``id`` is the record's public identity (audit)."""

    logical_name = "password-resets"
    ttl_attribute = "purge_at"

    class Meta(PlatformModel.Meta):
        pass

    reset_token = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    used_at = UTCDateTimeAttribute(null=True)
    # Set when a newer token is issued or another one is used: this one can no longer be.
    revoked_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    purge_at = TTLAttribute()

    by_user = PasswordResetsByUser()


class OAuthConnectionsByUser(GlobalSecondaryIndex["OAuthConnectionModel"]):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class OAuthConnectionModel(PlatformModel):
    """A user's account at an identity provider (spec 3.1 oauth_connections); tokens sealed."""

    logical_name = "oauth-connections"

    class Meta(PlatformModel.Meta):
        pass

    # "<provider>#<provider_user_id>": one platform user per provider account, enforced by the key.
    provider_subject = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    provider = UnicodeAttribute()
    provider_user_id = UnicodeAttribute()
    access_token = UnicodeAttribute(null=True)  # sealed (crypto.EnvelopeCipher)
    refresh_token = UnicodeAttribute(null=True)  # sealed
    expires_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()

    by_user = OAuthConnectionsByUser()


class OAuthStateModel(PlatformModel):
    """A sign-in in progress: state, nonce and PKCE verifier, used once, gone after 10 minutes."""

    logical_name = "oauth-states"
    ttl_attribute = "expires_at"

    class Meta(PlatformModel.Meta):
        pass

    state = UnicodeAttribute(hash_key=True)
    provider = UnicodeAttribute()
    nonce = UnicodeAttribute()
    code_verifier = UnicodeAttribute()  # sealed
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class SessionsByUser(GlobalSecondaryIndex["SessionModel"]):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class SessionModel(PlatformModel):
    """One sign-in (users/sessions.py): its current refresh token, device, IP and activity."""

    logical_name = "sessions"
    ttl_attribute = "expires_at"

    class Meta(PlatformModel.Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    current_refresh_jti = UnicodeAttribute()
    device = UnicodeAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
    revoked_reason = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_user = SessionsByUser()


# --- audit ----------------------------------------------------------------------------------------


class AuditByActor(GlobalSecondaryIndex["AuditLogModel"]):
    class Meta:
        index_name = "by_actor"
        projection = AllProjection()

    actor_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class AuditByTarget(GlobalSecondaryIndex["AuditLogModel"]):
    class Meta:
        index_name = "by_target"
        projection = AllProjection()

    target_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class AuditLogModel(PlatformModel):
    """Append-only. Partitioned by month (spec 2.2); sorted by timestamp then id."""

    logical_name = "audit-logs"

    class Meta(PlatformModel.Meta):
        pass

    month = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)
    id = UnicodeAttribute()
    timestamp = UTCDateTimeAttribute()
    actor_id = UnicodeAttribute()
    action = UnicodeAttribute()
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    source_ip = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    details = JSONAttribute(null=True)

    by_actor = AuditByActor()
    by_target = AuditByTarget()


# --- meetings: participants, feedback and Q&A -----------------------------------------------------


class MeetingsByStatus(GlobalSecondaryIndex["MeetingModel"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    scheduled_at = UTCDateTimeAttribute(range_key=True)


class MeetingsByHost(GlobalSecondaryIndex["MeetingModel"]):
    class Meta:
        index_name = "by_host"
        projection = AllProjection()

    host_id = UnicodeAttribute(hash_key=True)
    scheduled_at = UTCDateTimeAttribute(range_key=True)


class MeetingModel(PlatformModel):
    logical_name = "meetings"

    class Meta(PlatformModel.Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    host_id = UnicodeAttribute()
    meeting_type = UnicodeAttribute()
    status = UnicodeAttribute()
    scheduled_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    languages = ListAttribute(of=UnicodeAttribute, default=list)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    room_name = UnicodeAttribute()
    auto_record = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # Optimistic locking: every state change is conditional on the version read.
    version = NumberAttribute(default=1)
    # The recording in progress (recordings/control.py claims it conditionally: one at a time).
    recording_id = UnicodeAttribute(null=True)
    # Spec 2.2's active_meetings_view: participants joined now, recounted from the participants on
    # every join/leave event (statistics/platform.py); counted_at orders concurrent recounts.
    participant_count = NumberAttribute(default=0)
    counted_at = UTCDateTimeAttribute(null=True)

    by_status = MeetingsByStatus()
    by_host = MeetingsByHost()


class ParticipantsByUser(GlobalSecondaryIndex["ParticipantModel"]):
    """A user's meeting history, ordered by the meeting's scheduled time."""

    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    scheduled_at = UTCDateTimeAttribute(range_key=True)


class ParticipantsByMeetingStatus(GlobalSecondaryIndex["ParticipantModel"]):
    class Meta:
        index_name = "by_meeting_status"
        projection = AllProjection()

    meeting_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute(range_key=True)


class ParticipantModel(PlatformModel):
    logical_name = "meeting-participants"

    class Meta(PlatformModel.Meta):
        pass

    meeting_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    role = UnicodeAttribute()
    language = UnicodeAttribute(null=True)
    # Copied from the meeting so that history is one ordered query (kept in step on reschedule).
    scheduled_at = UTCDateTimeAttribute()
    invited_by = UnicodeAttribute(null=True)
    invited_at = UTCDateTimeAttribute()
    joined_at = UTCDateTimeAttribute(null=True)
    left_at = UTCDateTimeAttribute(null=True)

    by_user = ParticipantsByUser()
    by_meeting_status = ParticipantsByMeetingStatus()


class MeetingFeedbackModel(PlatformModel):
    """One participant's feedback on one meeting (keyed by both: one per user per meeting)."""

    logical_name = "meeting-feedback"

    class Meta(PlatformModel.Meta):
        pass

    meeting_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    id = UnicodeAttribute()
    rating = NumberAttribute()  # 1-5
    comment = UnicodeAttribute(null=True)
    recipient_id = UnicodeAttribute()  # the host the feedback is about
    created_at = UTCDateTimeAttribute()


class MeetingQuestionModel(PlatformModel):
    """A question asked in a meeting's Q&A; ``id`` is time-ordered, so the table is the list."""

    logical_name = "meeting-questions"

    class Meta(PlatformModel.Meta):
        pass

    meeting_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    asked_by = UnicodeAttribute()
    text = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    answer = UnicodeAttribute(null=True)
    answered_by = UnicodeAttribute(null=True)
    answered_at = UTCDateTimeAttribute(null=True)


# --- statistics -----------------------------------------------------------------------------------


class UserStatisticsModel(PlatformModel):
    """Spec 2.2's user_statistics_view, materialised by the statistics worker from events."""

    logical_name = "user-statistics"

    class Meta(PlatformModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    meetings_hosted = NumberAttribute(default=0)
    meetings_attended = NumberAttribute(default=0)
    attended_seconds = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)


class PlatformCounterModel(PlatformModel):
    """The dashboard's precomputed counters (``users#role#teacher``, ``meetings#status#active``,
    ``notifications#sent#2026-05-01T13`` hourly buckets with a TTL, ...) and the markers of the
    events applied to them (``event#<id>``, with a TTL): statistics/platform.py."""

    logical_name = "platform-counters"
    ttl_attribute = "expires_at"

    class Meta(PlatformModel.Meta):
        pass

    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class UserPresenceModel(PlatformModel):
    """Who is online: the last authenticated request (written at most once a minute per user) and
    the open notification WebSockets (``ws_connections``, valid until ``ws_online_until``)."""

    logical_name = "user-presence"

    class Meta(PlatformModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    last_seen_at = UTCDateTimeAttribute(null=True)
    ws_connections = NumberAttribute(default=0)
    ws_online_until = UTCDateTimeAttribute(null=True)


class PlatformSettingsModel(PlatformModel):
    """Platform settings admins change at run time (one item, ``key`` "platform"): platform_settings.py."""

    logical_name = "platform-settings"

    class Meta(PlatformModel.Meta):
        pass

    key = UnicodeAttribute(hash_key=True)
    registration_open = BooleanAttribute(default=True)
    default_meeting_languages = ListAttribute(of=UnicodeAttribute, default=list)
    maintenance_banner = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)


# --- platform: event handling (idempotency, outbox), rate limiting (spec 2.3) ---------------------


class IdempotencyModel(PlatformModel):
    """Powertools idempotency records (event handlers); the layout Powertools expects."""

    logical_name = "idempotency"
    ttl_attribute = "expiration"

    class Meta(PlatformModel.Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    expiration = TTLAttribute(null=True)


class EventOutboxModel(PlatformModel):
    """Domain events EventBridge refused after retries, kept for the redrive job: none is lost."""

    logical_name = "event-outbox"

    class Meta(PlatformModel.Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    detail_type = UnicodeAttribute()
    source = UnicodeAttribute()
    detail = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)


class RateLimitCounterModel(PlatformModel):
    """Sliding-window counters: one item per (limit, caller[, shard]); each window's count is an
    attribute ``w<window index>`` written by agents_meetings.ratelimit.store, expiring with TTL."""

    logical_name = "rate-limit-counters"
    ttl_attribute = "expires_at"

    class Meta(PlatformModel.Meta):
        pass

    key = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute(null=True)


class RateLimitConfigModel(PlatformModel):
    """Run-time limits (``limit#<name>``) and the IP allow-list (``allow#<network>``), edited by admins."""

    logical_name = "rate-limit-config"

    class Meta(PlatformModel.Meta):
        pass

    name = UnicodeAttribute(hash_key=True)
    value = UnicodeAttribute()
    updated_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


# --- recordings (spec 1.1) ------------------------------------------------------------------------
# Enumerated values live in agents_meetings/recordings; non-key attributes may grow with features.


class RecordingJobsByMeeting(GlobalSecondaryIndex["RecordingJobModel"]):
    """The recordings of a meeting, newest first."""

    class Meta:
        index_name = "by_meeting"
        projection = AllProjection()

    meeting_id = UnicodeAttribute(hash_key=True)
    started_at = UTCDateTimeAttribute(range_key=True)


class RecordingJobsByStatus(GlobalSecondaryIndex["RecordingJobModel"]):
    """Jobs in a status, oldest first (reconcile, retention and monitoring walk these)."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    started_at = UTCDateTimeAttribute(range_key=True)


class RecordingJobModel(PlatformModel):
    """One recording of a meeting: every egress of it (tracks) and its post-processed outputs."""

    logical_name = "recording-jobs"

    class Meta(PlatformModel.Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    meeting_id = UnicodeAttribute()
    # The room composite's LiveKit egress id; every egress (also this one) is a track row.
    egress_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # pending | recording | processing | completed | failed
    output_format = UnicodeAttribute()  # mp4 | webm
    storage_path = UnicodeAttribute(null=True)
    file_size_bytes = NumberAttribute(null=True)
    duration_seconds = NumberAttribute(null=True)
    started_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    # Beyond the spec's columns: who asked, with what options, what post-processing made.
    started_by = UnicodeAttribute(null=True)
    stopped_by = UnicodeAttribute(null=True)
    stopped_at = UTCDateTimeAttribute(null=True)
    options = JSONAttribute(null=True)
    meeting_type = UnicodeAttribute(null=True)
    languages = ListAttribute(of=UnicodeAttribute, default=list)
    thumbnail_path = UnicodeAttribute(null=True)
    preview_path = UnicodeAttribute(null=True)
    outputs = JSONAttribute(null=True)
    execution_arn = UnicodeAttribute(null=True)
    storage_tier = UnicodeAttribute(null=True)
    policy_id = UnicodeAttribute(null=True)
    deleted_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    version = NumberAttribute(default=1)
    # Set once the manifest (recordings.enums.manifest_key, the pipeline's trigger) has been written.
    manifest_path = UnicodeAttribute(null=True)

    by_meeting = RecordingJobsByMeeting()
    by_status = RecordingJobsByStatus()


class RecordingTracksByJob(GlobalSecondaryIndex["RecordingTrackModel"]):
    class Meta:
        index_name = "by_job"
        projection = AllProjection()

    recording_job_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class RecordingTracksByEgress(GlobalSecondaryIndex["RecordingTrackModel"]):
    """Webhooks and reconcile name an egress; this finds its track (and so its job)."""

    class Meta:
        index_name = "by_egress"
        projection = AllProjection()

    egress_id = UnicodeAttribute(hash_key=True)


class RecordingTrackModel(PlatformModel):
    """One egress output of a recording: composite, per-language audio, participant or screen."""

    logical_name = "recording-tracks"

    class Meta(PlatformModel.Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    recording_job_id = UnicodeAttribute()
    track_type = UnicodeAttribute()  # composite | audio_only | video_only | screen_share
    language = UnicodeAttribute(null=True)
    file_path = UnicodeAttribute()
    file_size_bytes = NumberAttribute(default=0)
    egress_id = UnicodeAttribute(null=True)
    egress_status = UnicodeAttribute(null=True)
    participant_identity = UnicodeAttribute(null=True)
    duration_seconds = NumberAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)

    by_job = RecordingTracksByJob()
    by_egress = RecordingTracksByEgress()


class TranscriptionJobsByRecording(GlobalSecondaryIndex["TranscriptionJobModel"]):
    class Meta:
        index_name = "by_recording"
        projection = AllProjection()

    recording_job_id = UnicodeAttribute(hash_key=True)
    language = UnicodeAttribute(range_key=True)


class TranscriptionJobsByStatus(GlobalSecondaryIndex["TranscriptionJobModel"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TranscriptionJobModel(PlatformModel):
    """The transcript of one language of a recording (all four formats rendered from one model)."""

    logical_name = "transcription-jobs"

    class Meta(PlatformModel.Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    recording_job_id = UnicodeAttribute()
    language = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | processing | completed | failed
    transcript_format = UnicodeAttribute()  # txt | srt | vtt | json: the canonical stored form
    storage_path = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)
    # Beyond the spec's columns: every rendered format's path, the engine and its outcome.
    storage_paths = JSONAttribute(null=True)
    provider = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    word_count = NumberAttribute(null=True)
    confidence = NumberAttribute(null=True)
    attempts = NumberAttribute(default=0)

    by_recording = TranscriptionJobsByRecording()
    by_status = TranscriptionJobsByStatus()


class StoragePolicyModel(PlatformModel):
    logical_name = "storage-policies"

    class Meta(PlatformModel.Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    policy_name = UnicodeAttribute()
    retention_days = NumberAttribute()  # 0: keep forever
    auto_delete = BooleanAttribute()
    storage_tier = UnicodeAttribute()  # hot | cool | archive
    applies_to = UnicodeAttribute()  # all_meetings | classroom_only | regular_only
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)


# --- notifications (spec 1.2) ---------------------------------------------------------------------
# Enumerations and the access rules live in agents_meetings/notifications.


class NotificationsUnread(GlobalSecondaryIndex["NotificationModel"]):
    """Sparse: ``unread_user_id`` is set only while unread, so the unread list and the unread count
    are one query on this index (newest first by the time-ordered id)."""

    class Meta:
        index_name = "unread"
        projection = AllProjection()

    unread_user_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class NotificationsById(GlobalSecondaryIndex["NotificationModel"]):
    """send_notification(notification_id) finds the owner of an id (keys only)."""

    class Meta:
        index_name = "by_id"
        projection = KeysOnlyProjection()

    id = UnicodeAttribute(hash_key=True)


class NotificationModel(PlatformModel):
    """One notification of one user. Keyed (user_id, id): another user's id simply does not exist.
    ``id`` is time-ordered (agents_meetings.notifications.ids), so the table itself is the
    newest-first list and SSE resumes with ``id > Last-Event-ID``."""

    logical_name = "notifications"
    ttl_attribute = "expires_at"

    class Meta(PlatformModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    type = UnicodeAttribute()
    title = UnicodeAttribute()
    message = UnicodeAttribute()
    priority = UnicodeAttribute()  # low | medium | high | urgent
    category = UnicodeAttribute()  # meeting | user | system | announcement | feedback
    data = JSONAttribute(null=True)
    is_read = BooleanAttribute(default=False)
    unread_user_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)
    read_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    group_key = UnicodeAttribute(null=True)
    group_count = NumberAttribute(default=1)
    # What caused it (event id, reminder key): a redelivered event finds its notification here.
    source_keys = UnicodeSetAttribute(null=True)
    # Delivery outcome per channel: pending | queued | sent | held | capped | failed | off | unavailable.
    realtime_status = UnicodeAttribute(null=True)
    email_status = UnicodeAttribute(null=True)
    email_attempts = NumberAttribute(default=0)
    email_error = UnicodeAttribute(null=True)
    push_status = UnicodeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)

    unread = NotificationsUnread()
    by_id = NotificationsById()


class NotificationPreferenceModel(PlatformModel):
    """A user's preferences: ``scope`` "default" (quiet hours, timezone, grouping, hourly cap and the
    channels every type inherits), "category#<c>" or "type#<t>" (channels; unset ones inherit)."""

    logical_name = "notification-preferences"

    class Meta(PlatformModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    scope = UnicodeAttribute(range_key=True)
    in_app = BooleanAttribute(null=True)
    email = BooleanAttribute(null=True)
    push = BooleanAttribute(null=True)
    quiet_hours_start = UnicodeAttribute(null=True)  # "HH:MM", local time of ``timezone``
    quiet_hours_end = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute(null=True)
    group_similar_notifications = BooleanAttribute(null=True)
    max_notifications_per_hour = NumberAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class WsConnectionsByUser(GlobalSecondaryIndex["WsConnectionModel"]):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    connected_at = UTCDateTimeAttribute(range_key=True)


class WsConnectionModel(PlatformModel):
    """An open API Gateway WebSocket connection; TTL cleans up what $disconnect never reported."""

    logical_name = "ws-connections"
    ttl_attribute = "expires_at"

    class Meta(PlatformModel.Meta):
        pass

    connection_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    # The user's role at $connect: the rate-limit tier of the connection's messages.
    role = UnicodeAttribute(null=True)
    connected_at = UTCDateTimeAttribute()
    meetings = UnicodeSetAttribute(null=True)
    expires_at = TTLAttribute()

    by_user = WsConnectionsByUser()


class WsSubscriptionModel(PlatformModel):
    """Connection subscribed to a meeting: broadcast_to_meeting is one query on the meeting id."""

    logical_name = "ws-subscriptions"
    ttl_attribute = "expires_at"

    class Meta(PlatformModel.Meta):
        pass

    meeting_id = UnicodeAttribute(hash_key=True)
    connection_id = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
    expires_at = TTLAttribute()


class WsTicketModel(PlatformModel):
    """A single-use WebSocket ticket, keyed by its SHA-256 (never the ticket); deleted when used."""

    logical_name = "ws-tickets"
    ttl_attribute = "expires_at"

    class Meta(PlatformModel.Meta):
        pass

    ticket_hash = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class NotificationKeyModel(PlatformModel):
    """Short-lived keys of the delivery rules: an open group window (``group#<user>#<group key>``),
    a sent reminder (``reminder#<meeting>#<scheduled_at>``) or an hourly count (``hour#<user>#<hour>``)."""

    logical_name = "notification-keys"
    ttl_attribute = "expires_at"

    class Meta(PlatformModel.Meta):
        pass

    key = UnicodeAttribute(hash_key=True)
    notification_id = UnicodeAttribute(null=True)
    tally = NumberAttribute(default=0)
    window_ends_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()


class HeldDeliveryModel(PlatformModel):
    """Email/push held back by quiet hours, ordered by release time: the release job queries
    ``queue = "held"`` for ``release_key <= now``."""

    logical_name = "notification-held"

    class Meta(PlatformModel.Meta):
        pass

    queue = UnicodeAttribute(hash_key=True)
    release_key = UnicodeAttribute(range_key=True)  # "<release_at ISO>#<user_id>#<notification_id>"
    user_id = UnicodeAttribute()
    notification_id = UnicodeAttribute()
    channels = UnicodeSetAttribute()
    release_at = UTCDateTimeAttribute()


# --- search & discovery (spec 1.3) ----------------------------------------------------------------


class SearchIndexJobsByStatus(GlobalSecondaryIndex["SearchIndexJobModel"]):
    """Jobs in a status, oldest change first (failed ones are what an operator looks at)."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class SearchIndexJobModel(PlatformModel):
    """spec 1.3 ``search_index_jobs``: one row per indexed entity (id = uuid5 of type and entity id)
    and one per full reindex (entity_id ``*``)."""

    logical_name = "search-index-jobs"

    class Meta(PlatformModel.Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    entity_type = UnicodeAttribute()  # meeting | user | transcript | material
    entity_id = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | indexing | indexed | failed
    last_indexed_at = UTCDateTimeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    documents = NumberAttribute(null=True)
    requested_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    by_status = SearchIndexJobsByStatus()


class MaterialsByOwner(GlobalSecondaryIndex["MaterialModel"]):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class MaterialModel(PlatformModel):
    """An uploaded course material (PDF, DOCX, text) and the text extracted from it."""

    logical_name = "materials"

    class Meta(PlatformModel.Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    subject = UnicodeAttribute(null=True)
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    storage_key = UnicodeAttribute()
    size_bytes = NumberAttribute(null=True)
    status = UnicodeAttribute()  # awaiting_upload | processing | ready | failed
    content = UnicodeAttribute(null=True)  # extracted text (bounded)
    error_message = UnicodeAttribute(null=True)
    meeting_ids = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    by_owner = MaterialsByOwner()


# Every table, by concern (the order is not significant).
TABLES: tuple[type[PlatformModel], ...] = (
    # identity
    UserModel,
    UserEmailModel,
    UserTwoFactorModel,
    RevokedTokenModel,
    PasswordResetModel,
    OAuthConnectionModel,
    OAuthStateModel,
    SessionModel,
    # audit
    AuditLogModel,
    # meetings
    MeetingModel,
    ParticipantModel,
    MeetingFeedbackModel,
    MeetingQuestionModel,
    # statistics, presence, platform settings
    UserStatisticsModel,
    PlatformCounterModel,
    UserPresenceModel,
    PlatformSettingsModel,
    # platform
    IdempotencyModel,
    EventOutboxModel,
    RateLimitCounterModel,
    RateLimitConfigModel,
    # recordings
    RecordingJobModel,
    RecordingTrackModel,
    TranscriptionJobModel,
    StoragePolicyModel,
    # notifications
    NotificationModel,
    NotificationPreferenceModel,
    WsConnectionModel,
    WsSubscriptionModel,
    WsTicketModel,
    NotificationKeyModel,
    HeldDeliveryModel,
    # search & discovery
    SearchIndexJobModel,
    MaterialModel,
)


@dataclass(frozen=True)
class KeySpec:
    name: str
    type: str  # "S" | "N" | "B"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: KeySpec
    sort_key: KeySpec | None


@dataclass(frozen=True)
class TableSpec:
    """Infrastructure-neutral description of a table, read from its pynamodb model."""

    logical_name: str
    partition_key: KeySpec
    sort_key: KeySpec | None
    indexes: tuple[IndexSpec, ...] = field(default_factory=tuple)
    ttl_attribute: str | None = None


def _key_specs(attributes: dict[str, Any]) -> tuple[KeySpec, KeySpec | None]:
    hash_key = range_key = None
    for name, attribute in attributes.items():
        if getattr(attribute, "is_hash_key", False):
            hash_key = KeySpec(attribute.attr_name or name, attribute.attr_type)
        elif getattr(attribute, "is_range_key", False):
            range_key = KeySpec(attribute.attr_name or name, attribute.attr_type)
    assert hash_key is not None
    return hash_key, range_key


def table_spec(model: type[PlatformModel]) -> TableSpec:
    partition, sort = _key_specs(model.get_attributes())
    indexes = []
    for index in model._indexes.values():
        index_partition, index_sort = _key_specs(index.Meta.attributes)
        indexes.append(IndexSpec(index.Meta.index_name, index_partition, index_sort))
    return TableSpec(model.logical_name, partition, sort, tuple(indexes), model.ttl_attribute)


@lru_cache(maxsize=8)
def _connection(region: str, host: str | None) -> Connection:
    return Connection(region=region, host=host)


def transaction_connection() -> Connection:
    """The connection transactions run on, reused for the container's life (a new one per
    transaction would rebuild a botocore session and client each time)."""
    return _connection(UserModel.Meta.region, UserModel.Meta.host)


def bind_tables(settings: Settings | None = None) -> None:
    """Point every model at its physical table (prefix + logical name) and endpoint."""
    settings = settings or get_settings()
    for model in TABLES:
        model.Meta.table_name = settings.table_name(model.logical_name)
        model.Meta.region = settings.aws_region
        model.Meta.host = settings.aws_endpoint_url
        model._connection = None  # pynamodb caches the connection with the old name and host
    _connection.cache_clear()


def create_tables(settings: Settings | None = None) -> None:
    """Create every table that does not exist yet (local runtime and tests; CDK in the cloud)."""
    bind_tables(settings)
    for model in TABLES:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
