"""Bodies of /api/v1/recordings, a meeting's recordings, admin storage policies, and the LiveKit webhook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)

from agents_meetings.http.schemas.common import (
    LINE_CHECK,
    UtcDateTime,
)
from agents_meetings.recordings.downloads import Download
from agents_meetings.recordings.enums import AppliesTo, OutputFormat, RecordingStatus, StorageTier
from agents_meetings.recordings.retention import RetentionOutcome

if TYPE_CHECKING:
    from agents_meetings.tables import RecordingJobModel, RecordingTrackModel, StoragePolicyModel


PolicyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), LINE_CHECK]


class OptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: OutputFormat = OutputFormat.MP4
    include_audio_tracks: StrictBool = Field(True, description="one audio-only track per meeting language")
    include_screen_share: StrictBool = True
    include_participant_tracks: StrictBool = Field(False, description="a track composite per participant")


class StartIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "meeting_id": "4f1c2a8e-9a53-4c2e-8d3e-1b2a3c4d5e6f",
                    "options": {"format": "mp4", "include_audio_tracks": True, "include_screen_share": True},
                }
            ]
        },
    )
    meeting_id: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
    options: OptionsIn = Field(default_factory=OptionsIn)


class StopIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"meeting_id": "4f1c2a8e-9a53-4c2e-8d3e-1b2a3c4d5e6f"}]}
    )
    meeting_id: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


class DownloadOut(BaseModel):
    path: str
    url: str
    size: int | None = None
    format: str | None = None

    @classmethod
    def of(cls, download: Download) -> DownloadOut:
        return cls(path=download.path, url=download.url, size=download.size, format=download.format)


class TrackOut(BaseModel):
    id: str
    track_type: str
    language: str | None
    participant_identity: str | None
    egress_status: str | None
    file_size_bytes: int
    duration_seconds: float | None
    error_message: str | None
    download: DownloadOut | None = None

    @classmethod
    def of(cls, track: RecordingTrackModel) -> TrackOut:
        return cls(
            id=track.id,
            track_type=track.track_type,
            language=track.language,
            participant_identity=track.participant_identity,
            egress_status=track.egress_status,
            file_size_bytes=int(track.file_size_bytes or 0),
            duration_seconds=float(track.duration_seconds) if track.duration_seconds is not None else None,
            error_message=track.error_message,
        )


class RecordingOut(BaseModel):
    id: str
    meeting_id: str
    status: RecordingStatus
    output_format: str
    languages: list[str]
    started_at: UtcDateTime
    started_by: str | None
    stopped_at: UtcDateTime | None
    completed_at: UtcDateTime | None
    duration_seconds: float | None
    file_size_bytes: int | None
    error_message: str | None
    storage_tier: str | None
    tracks: list[TrackOut] = Field(default_factory=list)
    downloads: dict[str, DownloadOut] = Field(
        default_factory=dict, description="web video, thumbnail, preview and audio.<lang>: signed, expiring URLs"
    )
    url_expires_in: int | None = None

    @classmethod
    def summary(cls, job: RecordingJobModel) -> RecordingOut:
        return cls(
            id=job.id,
            meeting_id=job.meeting_id,
            status=RecordingStatus(job.status),
            output_format=job.output_format,
            languages=list(job.languages or []),
            started_at=job.started_at,
            started_by=job.started_by,
            stopped_at=job.stopped_at,
            completed_at=job.completed_at,
            duration_seconds=float(job.duration_seconds) if job.duration_seconds is not None else None,
            file_size_bytes=int(job.file_size_bytes) if job.file_size_bytes is not None else None,
            error_message=job.error_message,
            storage_tier=job.storage_tier,
        )


class PolicyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "policy_name": "Classes: one year, then archive",
                    "retention_days": 365,
                    "auto_delete": True,
                    "storage_tier": "archive",
                    "applies_to": "classroom_only",
                }
            ]
        },
    )
    policy_name: PolicyName
    retention_days: StrictInt = Field(ge=0, le=36_500, description="0 keeps recordings forever")
    auto_delete: StrictBool = False
    storage_tier: StorageTier = StorageTier.HOT
    applies_to: AppliesTo = AppliesTo.ALL_MEETINGS


class PolicyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"retention_days": 30}]})
    policy_name: PolicyName | None = None
    retention_days: StrictInt | None = Field(None, ge=0, le=36_500)
    auto_delete: StrictBool | None = None
    storage_tier: StorageTier | None = None
    applies_to: AppliesTo | None = None


class PolicyOut(BaseModel):
    id: str
    policy_name: str
    retention_days: int
    auto_delete: bool
    storage_tier: StorageTier
    applies_to: AppliesTo
    created_at: UtcDateTime
    updated_at: UtcDateTime | None

    @classmethod
    def of(cls, policy: StoragePolicyModel) -> PolicyOut:
        return cls(
            id=policy.id,
            policy_name=policy.policy_name,
            retention_days=int(policy.retention_days),
            auto_delete=bool(policy.auto_delete),
            storage_tier=StorageTier(policy.storage_tier),
            applies_to=AppliesTo(policy.applies_to),
            created_at=policy.created_at,
            updated_at=policy.updated_at,
        )


class RetentionOut(BaseModel):
    recording_id: str
    action: str
    policy_id: str | None
    retention_days: int
    auto_delete: bool
    storage_tier: StorageTier
    objects: int
    reason: str

    @classmethod
    def of(cls, outcome: RetentionOutcome) -> RetentionOut:
        return cls(
            recording_id=outcome.recording_id,
            action=outcome.action,
            policy_id=outcome.policy.policy_id,
            retention_days=outcome.policy.retention_days,
            auto_delete=outcome.policy.auto_delete,
            storage_tier=outcome.policy.storage_tier,
            objects=outcome.objects,
            reason=outcome.reason,
        )


class WebhookOut(BaseModel):
    event: str
    outcome: str
