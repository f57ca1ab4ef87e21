"""/api/v1/meetings/{id}/feedback: participants rate a meeting they attended; its host reads it."""

from __future__ import annotations

from fastapi import APIRouter, status

from agents_meetings.http.dependencies import DEFAULT_PAGE, Cursor, FeedbackServiceDep, Limit, ResourceId
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas.feedback import FeedbackIn, FeedbackOut, FeedbackPageOut
from agents_meetings.http.security import CurrentPrincipal

router = APIRouter(prefix="/api/v1/meetings", tags=["meetings"])


@router.post(
    "/{meeting_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Rate a meeting you attended (once it ended or you left; one feedback per meeting: 409 after)",
)
async def give_feedback(
    meeting_id: ResourceId, body: FeedbackIn, principal: CurrentPrincipal, service: FeedbackServiceDep
) -> FeedbackOut:
    return FeedbackOut.of(service.give(principal.actor, meeting_id, rating=body.rating, comment=body.comment))


@router.get(
    "/{meeting_id}/feedback",
    response_model=FeedbackPageOut,
    responses=error_responses(400, 401, 403, 404, 422),
    summary="A meeting's feedback and average rating (its host and admins)",
)
async def list_feedback(
    meeting_id: ResourceId,
    principal: CurrentPrincipal,
    service: FeedbackServiceDep,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> FeedbackPageOut:
    result = service.list_for(principal.actor, meeting_id, limit=limit, cursor=cursor)
    return FeedbackPageOut(
        items=[FeedbackOut.of(f) for f in result.page.items],
        next_cursor=result.page.next_cursor,
        average_rating=result.average_rating,
        ratings_count=result.ratings_count,
    )
