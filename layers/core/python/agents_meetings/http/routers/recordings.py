"""/api/v1/recordings (start, stop, details with signed download URLs), a meeting's recordings,
admin storage policies and apply-policy, and the LiveKit webhook receiver."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from agents_meetings.http.dependencies import DEFAULT_PAGE, Cursor, Limit, RecordingServiceDep, ResourceId
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas import PageOut
from agents_meetings.http.schemas.recordings import (
    DownloadOut,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    RecordingOut,
    RetentionOut,
    StartIn,
    StopIn,
    TrackOut,
    WebhookOut,
)
from agents_meetings.http.security import AdminPrincipal, AdminRoute, CurrentPrincipal
from agents_meetings.recordings.administration import apply_policy_now
from agents_meetings.recordings.downloads import recording_downloads
from agents_meetings.recordings.retention import NewPolicy, StoragePolicyService
from agents_meetings.recordings.service import RecordingDetails, RecordingOptions, RecordingService
from agents_meetings.recordings.webhooks import count_livekit_event, verify_livekit_webhook

router = APIRouter(prefix="/api/v1/recordings", tags=["recordings"])
meeting_recordings_router = APIRouter(prefix="/api/v1/meetings", tags=["recordings"])
admin_policies_router = APIRouter(
    prefix="/api/v1/admin/storage-policies", tags=["admin", "recordings"], route_class=AdminRoute
)
admin_recordings_router = APIRouter(
    prefix="/api/v1/admin/recordings", tags=["admin", "recordings"], route_class=AdminRoute
)
webhook_router = APIRouter(prefix="/api/v1/webhooks/livekit", tags=["webhooks"])


# --- recordings ---------------------------------------------------------------------------------


def details_out(details: RecordingDetails, service: RecordingService) -> RecordingOut:
    """The recording with signed, expiring URLs for every file that exists."""
    links = recording_downloads(details.job, details.tracks, service.store)
    out = RecordingOut.summary(details.job)
    for track in details.tracks:
        item = TrackOut.of(track)
        found = links.tracks.get(track.id)
        if found is not None:
            item.download = DownloadOut.of(found)
        out.tracks.append(item)
    out.downloads = {name: DownloadOut.of(found) for name, found in links.files.items()}
    out.url_expires_in = links.expires_in
    return out


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
        return WebhookOut(event=webhook.event, outcome="counted" if count_livekit_event(webhook) else "ignored")
    return WebhookOut(event=webhook.event, outcome=service.handle_egress_update(webhook.egress))
