"""Meeting Q&A: anyone who may see a meeting asks; its host, a teacher in it, or an admin answers.

Question ids are time-ordered (``<microseconds, 16 digits><8 hex>``), so a meeting's questions are
one query in the order they were asked. An answer is final: answering an answered question is a
409 ``question_already_answered`` (the write is conditional, so two concurrent answers cannot
both win and the asker is notified once). Answering publishes ``QuestionAnswered``; the notify
worker sends the asker ``question_answered``.
"""

from __future__ import annotations

import secrets
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.clock import to_utc, utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.errors import Conflict, Forbidden, NotFound
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.meetings.service import MeetingService, MeetingStatus
from agents_meetings.pagination import Page, decode_cursor, encode_cursor, index_key_names, paginate
from agents_meetings.tables import MeetingModel, MeetingQuestionModel, ParticipantModel
from agents_meetings.users.service import Role

QUESTION_ID_PATTERN = r"^[0-9]{16}[0-9a-f]{8}$"


def new_question_id() -> str:
    micros = int(to_utc(utcnow()).timestamp() * 1_000_000)
    return f"{micros:016d}{secrets.token_hex(4)}"


class QuestionService:
    def __init__(self, events: EventPublisher, audit: AuditLog | None = None):
        self._events = events
        self._audit = audit or AuditLog()
        self._meetings = MeetingService(events, self._audit)

    def ask(self, actor: Actor, meeting_id: str, text: str) -> MeetingQuestionModel:
        meeting = self._meetings.get_visible(actor, meeting_id)
        if meeting.status == MeetingStatus.CANCELLED:
            raise Conflict("The meeting is cancelled; it takes no questions.", code="meeting_closed")
        question = MeetingQuestionModel(
            meeting_id=meeting_id,
            id=new_question_id(),
            asked_by=actor.user_id,
            text=text.strip(),
            created_at=utcnow(),
        )
        question.save(condition=MeetingQuestionModel.id.does_not_exist())
        self._audit.record(actor, "meeting.question_asked", "meeting", meeting_id, {"question_id": question.id})
        return question

    def list_for(self, actor: Actor, meeting_id: str, *, limit: int, cursor: str | None) -> Page[MeetingQuestionModel]:
        self._meetings.get_visible(actor, meeting_id)
        key_names = index_key_names(MeetingQuestionModel)

        def run(lek: dict[str, Any] | None) -> Any:
            return MeetingQuestionModel.query(meeting_id, last_evaluated_key=lek)

        items, last = paginate(run, key_names=key_names, limit=limit, cursor_key=decode_cursor(cursor))
        return Page(items, encode_cursor(last) if last else None)

    def answer(self, actor: Actor, meeting_id: str, question_id: str, text: str) -> MeetingQuestionModel:
        meeting = self._meetings.get_visible(actor, meeting_id)
        if not _may_answer(actor, meeting):
            raise Forbidden(
                "Only the meeting's host, a teacher in the meeting or an admin can answer questions.",
                code="answer_not_allowed",
            )
        try:
            question = MeetingQuestionModel.get(meeting_id, question_id)
        except DoesNotExist as exc:
            raise NotFound("Question not found.", code="question_not_found") from exc
        now = utcnow()
        try:
            question.update(
                actions=[
                    MeetingQuestionModel.answer.set(text.strip()),
                    MeetingQuestionModel.answered_by.set(actor.user_id),
                    MeetingQuestionModel.answered_at.set(now),
                ],
                condition=MeetingQuestionModel.answered_at.does_not_exist(),
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise Conflict("This question has already been answered.", code="question_already_answered") from exc
            raise
        self._audit.record(actor, "meeting.question_answered", "meeting", meeting_id, {"question_id": question_id})
        self._events.publish(
            DomainEvent.QUESTION_ANSWERED,
            {
                "question_id": question_id,
                "meeting_id": meeting_id,
                "asked_by": question.asked_by,
                "answered_by": actor.user_id,
            },
        )
        return question


def _may_answer(actor: Actor, meeting: MeetingModel) -> bool:
    if actor.is_admin or meeting.host_id == actor.user_id:
        return True
    if actor.role != Role.TEACHER.value:
        return False
    try:
        ParticipantModel.get(meeting.id, actor.user_id)
    except DoesNotExist:
        return False
    return True
