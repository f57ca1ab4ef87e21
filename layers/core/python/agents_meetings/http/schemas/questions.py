"""Bodies of /api/v1/meetings/{id}/questions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    StringConstraints,
)

from agents_meetings.http.schemas.common import (
    TEXT_CHECK,
    Strict,
    UtcDateTime,
)

if TYPE_CHECKING:
    from agents_meetings.tables import MeetingQuestionModel


QuestionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), TEXT_CHECK]


class QuestionIn(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": "Will the slides be shared after the class?"}]}
    )
    text: QuestionText


class AnswerIn(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": "Yes, under the meeting's materials."}]}
    )
    text: QuestionText


class QuestionOut(BaseModel):
    id: str
    meeting_id: str
    asked_by: str
    text: str
    created_at: UtcDateTime
    answer: str | None = None
    answered_by: str | None = None
    answered_at: UtcDateTime | None = None

    @classmethod
    def of(cls, question: MeetingQuestionModel) -> QuestionOut:
        return cls(
            id=question.id,
            meeting_id=question.meeting_id,
            asked_by=question.asked_by,
            text=question.text,
            created_at=question.created_at,
            answer=question.answer,
            answered_by=question.answered_by,
            answered_at=question.answered_at,
        )
