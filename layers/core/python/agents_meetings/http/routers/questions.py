"""/api/v1/meetings/{id}/questions: a meeting's Q&A (ask, list, answer)."""

from __future__ import annotations

from fastapi import APIRouter, status

from agents_meetings.http.dependencies import DEFAULT_PAGE, Cursor, Limit, QuestionId, QuestionServiceDep, ResourceId
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas import PageOut
from agents_meetings.http.schemas.questions import AnswerIn, QuestionIn, QuestionOut
from agents_meetings.http.security import CurrentPrincipal

router = APIRouter(prefix="/api/v1/meetings", tags=["meetings"])


@router.post(
    "/{meeting_id}/questions",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Ask a question in a meeting you can see",
)
async def ask_question(
    meeting_id: ResourceId, body: QuestionIn, principal: CurrentPrincipal, service: QuestionServiceDep
) -> QuestionOut:
    return QuestionOut.of(service.ask(principal.actor, meeting_id, body.text))


@router.get(
    "/{meeting_id}/questions",
    response_model=PageOut[QuestionOut],
    responses=error_responses(400, 401, 403, 404, 422),
    summary="A meeting's questions, in the order they were asked",
)
async def list_questions(
    meeting_id: ResourceId,
    principal: CurrentPrincipal,
    service: QuestionServiceDep,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> PageOut[QuestionOut]:
    page = service.list_for(principal.actor, meeting_id, limit=limit, cursor=cursor)
    return PageOut[QuestionOut](items=[QuestionOut.of(q) for q in page.items], next_cursor=page.next_cursor)


@router.post(
    "/{meeting_id}/questions/{question_id}/answer",
    response_model=QuestionOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Answer a question (host, a teacher in the meeting, admins; once: 409 after)",
)
async def answer_question(
    meeting_id: ResourceId,
    question_id: QuestionId,
    body: AnswerIn,
    principal: CurrentPrincipal,
    service: QuestionServiceDep,
) -> QuestionOut:
    return QuestionOut.of(service.answer(principal.actor, meeting_id, question_id, body.text))
