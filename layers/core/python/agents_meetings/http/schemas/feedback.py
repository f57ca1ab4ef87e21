"""Bodies of /api/v1/meetings/{id}/feedback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from agents_meetings.http.schemas.common import (
    PageOut,
    ShortText,
    Strict,
    UtcDateTime,
)
from agents_meetings.meetings.feedback import MAX_RATING, MIN_RATING

if TYPE_CHECKING:
    from agents_meetings.tables import MeetingFeedbackModel


class FeedbackIn(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"rating": 5, "comment": "Clear and well paced."}]}
    )
    rating: int = Field(strict=True, ge=MIN_RATING, le=MAX_RATING, description="1 (poor) to 5 (excellent)")
    comment: ShortText | None = None


class FeedbackOut(BaseModel):
    id: str
    meeting_id: str
    user_id: str
    rating: int
    comment: str | None
    created_at: UtcDateTime

    @classmethod
    def of(cls, feedback: MeetingFeedbackModel) -> FeedbackOut:
        return cls(
            id=feedback.id,
            meeting_id=feedback.meeting_id,
            user_id=feedback.user_id,
            rating=int(feedback.rating),
            comment=feedback.comment,
            created_at=feedback.created_at,
        )


class FeedbackPageOut(PageOut[FeedbackOut]):
    average_rating: float | None = Field(None, description="Mean of every rating of the meeting; null without any")
    ratings_count: int = 0
