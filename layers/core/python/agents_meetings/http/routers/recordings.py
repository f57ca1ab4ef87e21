"""/api/v1/recordings (start, stop, details with signed download URLs), a meeting's recordings,
admin storage policies and apply-policy, and the LiveKit webhook receiver."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StrictBool, StrictInt, StringConstraints

from agents_meetings.clock import isoformat_z
from agents_meetings.http.dependencies import DEFAULT_PAGE, Cursor, Limit, RecordingServiceDep, ResourceId
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas import LINE_CHECK, PageOut
from agents_meetings.http.security import AdminPrincipal, AdminRoute, CurrentPrincipal
from agents_meetings.recordings.administration import apply_policy_now
from agents_meetings.recordings.downloads import Download, recording_downloads
from agents_meetings.recordings.enums import AppliesTo, OutputFormat, RecordingStatus, StorageTier
from agents_meetings.recordings.retention import NewPolicy, RetentionOutcome, StoragePolicyService
from agents_meetings.recordings.service import RecordingDetails, RecordingOptions, RecordingService
from agents_meetings.recordings.webhooks import verify_livekit_webhook

if TYPE_CHECKING:
    from agents_meetings.tables import RecordingJobModel, RecordingTrackModel, StoragePolicyModel

router = APIRouter(prefix="/api/v1/recordings", tags=["recordings"])
meeting_recordings_router = APIRouter(prefix="/api/v1/meetings", tags=["recordings"])
admin_policies_router = APIRouter(
    prefix="/api/v1/admin/storage-policies", tags=["admin", "recordings"], route_class=AdminRoute
)
admin_recordings_router = APIRouter(
    prefix="/api/v1/admin/recordings", tags=["admin", "recordings"], route_class=AdminRoute
)
webhook_router = APIRouter(prefix="/api/v1/webhooks/livekit", tags=["webhooks"])

UtcDateTime = Annotated[datetime, PlainSerializer(lambda v: isoformat_z(v), return_type=str)]
PolicyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), LINE_CHECK]


# --- bodies -------------------------------------------------------------------------------------


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


# --- recordings ---------------------------------------------------------------------------------


def details_out(details: RecordingDetails, service: RecordingService) -> RecordingOut:
    """The recording with signed, expiring URLs for every file that exists."""
    links = recording_downloads(details.job, details.tracks, service.store)
    out = RecordingOut.summary(details.job)
    for track in details.tracks:
        item = _track_out(track)
        found = links.tracks.get(track.id)
        if found is not None:
            item.download = DownloadOut.of(found)
        out.tracks.append(item)
    out.downloads = {name: DownloadOut.of(found) for name, found in links.files.items()}
    out.url_expires_in = links.expires_in
    return out


def _track_out(track: RecordingTrackModel) -> TrackOut:
    return TrackOut(
        id=track.id,
        track_type=track.track_type,
        language=track.language,
        participant_identity=track.participant_identity,
        egress_status=track.egress_status,
        file_size_bytes=int(track.file_size_bytes or 0),
        duration_seconds=float(track.duration_seconds) if track.duration_seconds is not None else None,
        error_message=track.error_message,
    )


@router.post(
    "/start",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordingOut,
    responses=error_responses(401, 403, 404, 409, 422, 503),
    summary="Start recording a live meeting (its host, teacher or an admin)",
)
async def start_recording(body: StartIn, principal: CurrentPrincipal, service: RecordingServiceDep) -> RecordingOut:
    options = RecordingOptions(
        format=body.options.format,
        include_audio_tracks=body.options.include_audio_tracks,
        include_screen_share=body.options.include_screen_share,
        include_participant_tracks=body.options.include_participant_tracks,
    )
    return details_out(service.start_recording(principal.actor, body.meeting_id, options), service)


@router.post(
    "/stop",
    response_model=RecordingOut,
    responses=error_responses(401, 403, 404, 409, 422, 503),
    summary="Stop the meeting's recording; post-processing starts once every egress has ended",
)
async def stop_recording(body: StopIn, principal: CurrentPrincipal, service: RecordingServiceDep) -> RecordingOut:
    job = service.stop_recording(principal.actor, body.meeting_id)
    return details_out(service.get_recording_status(principal.actor, job.id), service)


@router.get(
    "/{recording_id}",
    response_model=RecordingOut,
    responses=error_responses(401, 403, 404),
    summary="A recording: status, tracks, thumbnail, preview and signed download URLs",
)
async def get_recording(
    recording_id: ResourceId, principal: CurrentPrincipal, service: RecordingServiceDep
) -> RecordingOut:
    return details_out(service.get_recording_status(principal.actor, recording_id), service)


@meeting_recordings_router.get(
    "/{meeting_id}/recordings",
    response_model=PageOut[RecordingOut],
    responses=error_responses(400, 401, 403, 404, 422),
    summary="A meeting's recordings, newest first",
)
async def list_meeting_recordings(
    meeting_id: ResourceId,
    principal: CurrentPrincipal,
    service: RecordingServiceDep,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> PageOut[RecordingOut]:
    page = service.list_meeting_recordings(principal.actor, meeting_id, limit=limit, cursor=cursor)
    return PageOut[RecordingOut](items=[RecordingOut.summary(job) for job in page.items], next_cursor=page.next_cursor)


# --- admin: storage policies and retention ----------------------------------------------------


@admin_policies_router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=PolicyOut, responses=error_responses(401, 403, 422)
)
async def create_policy(body: PolicyIn, principal: AdminPrincipal) -> PolicyOut:
    new = NewPolicy(body.policy_name, body.retention_days, body.auto_delete, body.storage_tier, body.applies_to)
    return PolicyOut.of(StoragePolicyService().create(principal.actor, new))


@admin_policies_router.get("", response_model=PageOut[PolicyOut], responses=error_responses(400, 401, 403, 422))
async def list_policies(
    principal: AdminPrincipal, limit: Limit = DEFAULT_PAGE, cursor: Cursor = None
) -> PageOut[PolicyOut]:
    page = StoragePolicyService().list(limit=limit, cursor=cursor)
    return PageOut[PolicyOut](items=[PolicyOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@admin_policies_router.get("/{policy_id}", response_model=PolicyOut, responses=error_responses(401, 403, 404))
async def get_policy(policy_id: ResourceId, principal: AdminPrincipal) -> PolicyOut:
    return PolicyOut.of(StoragePolicyService().get(policy_id))


@admin_policies_router.put("/{policy_id}", response_model=PolicyOut, responses=error_responses(401, 403, 404, 422))
async def update_policy(policy_id: ResourceId, body: PolicyPatch, principal: AdminPrincipal) -> PolicyOut:
    changes = body.model_dump(exclude_unset=True)
    return PolicyOut.of(StoragePolicyService().update(principal.actor, policy_id, changes))


@admin_recordings_router.post(
    "/apply-policy/{recording_id}",
    response_model=RetentionOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Apply the recording's storage policy now: delete it if expired, else move it to the policy's tier",
)
async def apply_policy(recording_id: ResourceId, principal: AdminPrincipal) -> RetentionOut:
    return RetentionOut.of(apply_policy_now(principal.actor, recording_id))


# --- LiveKit webhooks ---------------------------------------------------------------------------


@webhook_router.post(
    "",
    response_model=WebhookOut,
    responses=error_responses(401),
    summary="LiveKit webhooks (signed with the API secret); egress events drive recording status",
)
async def livekit_webhook(request: Request, service: RecordingServiceDep) -> WebhookOut:
    webhook = verify_livekit_webhook(await request.body(), request.headers.get("authorization", ""))
    if webhook.egress is None:
        return WebhookOut(event=webhook.event, outcome="ignored")
    return WebhookOut(event=webhook.event, outcome=service.handle_egress_update(webhook.egress))
