"""/api/v1/meetings: scheduling, lifecycle, participants and joining the LiveKit room."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from agents_meetings.errors import Unprocessable
from agents_meetings.http.dependencies import DEFAULT_PAGE, Cursor, Limit, MeetingServiceDep, ResourceId
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas import BoundedDateTime, PageOut
from agents_meetings.http.schemas.meetings import (
    ActiveMeetingsOut,
    InviteIn,
    InviteOut,
    JoinIn,
    JoinOut,
    MeetingIn,
    MeetingOut,
    MeetingPatch,
    ParticipantOut,
)
from agents_meetings.http.security import CurrentPrincipal
from agents_meetings.meetings.active import ActiveMeetingsView
from agents_meetings.meetings.service import MeetingChanges, MeetingStatus, NewMeeting, ParticipantStatus
from agents_meetings.platform_settings import platform_settings

router = APIRouter(prefix="/api/v1/meetings", tags=["meetings"])

READ_ERRORS = error_responses(401, 403, 404)
CHANGE_ERRORS = error_responses(401, 403, 404, 409, 422)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MeetingOut,
    responses=error_responses(401, 403, 422),
    summary="Schedule a meeting (hosts, teachers, admins)",
)
async def create_meeting(body: MeetingIn, principal: CurrentPrincipal, service: MeetingServiceDep) -> MeetingOut:
    meeting = service.create(
        principal.actor,
        NewMeeting(
            title=body.title,
            description=body.description,
            meeting_type=body.meeting_type,
            scheduled_at=body.scheduled_at,
            languages=body.languages or platform_settings().default_meeting_languages,
            tags=body.tags,
            auto_record=body.auto_record,
        ),
    )
    return MeetingOut.of(meeting)


@router.get(
    "",
    response_model=PageOut[MeetingOut],
    responses=error_responses(400, 401, 403, 422),
    summary="Meetings you host or are invited to (admins: scope=all for every meeting)",
)
async def list_meetings(
    principal: CurrentPrincipal,
    service: MeetingServiceDep,
    status_filter: Annotated[MeetingStatus | None, Query(alias="status")] = None,
    start: Annotated[BoundedDateTime | None, Query(alias="from", description="scheduled at or after")] = None,
    end: Annotated[BoundedDateTime | None, Query(alias="to", description="scheduled at or before")] = None,
    scope: Literal["mine", "all"] = "mine",
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> PageOut[MeetingOut]:
    _check_range(start, end)
    lister = service.list_all if scope == "all" else service.list_mine
    page = lister(principal.actor, status=status_filter, start=start, end=end, limit=limit, cursor=cursor)
    return PageOut[MeetingOut](items=[MeetingOut.of(m) for m in page.items], next_cursor=page.next_cursor)


@router.get(
    "/active",
    response_model=ActiveMeetingsOut,
    responses=error_responses(400, 401, 403, 422),
    summary="Active meetings you may see, with the participants in each now (cached 30 s, counts 10 s)",
)
async def list_active_meetings(
    principal: CurrentPrincipal, limit: Limit = DEFAULT_PAGE, cursor: Cursor = None
) -> ActiveMeetingsOut:
    page = ActiveMeetingsView().list_for(principal.actor, limit=limit, cursor=cursor)
    return ActiveMeetingsOut.model_validate({"items": page.items, "next_cursor": page.next_cursor})


@router.get("/{meeting_id}", response_model=MeetingOut, responses=READ_ERRORS)
async def get_meeting(meeting_id: ResourceId, principal: CurrentPrincipal, service: MeetingServiceDep) -> MeetingOut:
    return MeetingOut.of(service.get_visible(principal.actor, meeting_id))


@router.patch("/{meeting_id}", response_model=MeetingOut, responses=CHANGE_ERRORS)
async def update_meeting(
    meeting_id: ResourceId, body: MeetingPatch, principal: CurrentPrincipal, service: MeetingServiceDep
) -> MeetingOut:
    changes = MeetingChanges(**body.model_dump(exclude_unset=True, exclude_none=True))
    return MeetingOut.of(service.update(principal.actor, meeting_id, changes))


@router.post("/{meeting_id}/cancel", response_model=MeetingOut, responses=CHANGE_ERRORS)
async def cancel_meeting(meeting_id: ResourceId, principal: CurrentPrincipal, service: MeetingServiceDep) -> MeetingOut:
    return MeetingOut.of(service.cancel(principal.actor, meeting_id))


@router.post("/{meeting_id}/start", response_model=MeetingOut, responses=CHANGE_ERRORS)
async def start_meeting(meeting_id: ResourceId, principal: CurrentPrincipal, service: MeetingServiceDep) -> MeetingOut:
    return MeetingOut.of(service.start(principal.actor, meeting_id))


@router.post("/{meeting_id}/end", response_model=MeetingOut, responses=CHANGE_ERRORS)
async def end_meeting(meeting_id: ResourceId, principal: CurrentPrincipal, service: MeetingServiceDep) -> MeetingOut:
    return MeetingOut.of(service.end(principal.actor, meeting_id))


@router.post(
    "/{meeting_id}/join",
    response_model=JoinOut,
    responses=CHANGE_ERRORS,
    summary="Join an active meeting: returns a LiveKit token for its room",
)
async def join_meeting(
    meeting_id: ResourceId, principal: CurrentPrincipal, service: MeetingServiceDep, body: JoinIn | None = None
) -> JoinOut:
    result = service.join(
        principal.actor, meeting_id, display_name=principal.user.full_name, language=body.language if body else None
    )
    access = result.access
    return JoinOut(
        token=access.token,
        livekit_url=access.url,
        room_name=access.room_name,
        identity=access.identity,
        expires_in=access.expires_in,
        participant=ParticipantOut.of(result.participant),
    )


@router.post("/{meeting_id}/leave", response_model=ParticipantOut, responses=CHANGE_ERRORS)
async def leave_meeting(
    meeting_id: ResourceId, principal: CurrentPrincipal, service: MeetingServiceDep
) -> ParticipantOut:
    return ParticipantOut.of(service.leave(principal.actor, meeting_id))


@router.post(
    "/{meeting_id}/participants",
    response_model=InviteOut,
    responses=CHANGE_ERRORS,
    summary="Invite approved users (idempotent: already invited users are reported, not duplicated)",
)
async def invite(
    meeting_id: ResourceId, body: InviteIn, principal: CurrentPrincipal, service: MeetingServiceDep
) -> InviteOut:
    result = service.invite(principal.actor, meeting_id, body.user_ids)
    return InviteOut(invited=result.invited, already_invited=result.already_invited)


@router.get(
    "/{meeting_id}/participants", response_model=PageOut[ParticipantOut], responses=error_responses(400, 401, 403, 404)
)
async def list_participants(
    meeting_id: ResourceId,
    principal: CurrentPrincipal,
    service: MeetingServiceDep,
    status_filter: Annotated[ParticipantStatus | None, Query(alias="status")] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> PageOut[ParticipantOut]:
    page = service.list_participants(principal.actor, meeting_id, status=status_filter, limit=limit, cursor=cursor)
    return PageOut[ParticipantOut](items=[ParticipantOut.of(p) for p in page.items], next_cursor=page.next_cursor)


def _check_range(start: datetime | None, end: datetime | None) -> None:
    if start and end and start > end:
        raise Unprocessable("'from' must not be after 'to'.", code="invalid_time_range")
