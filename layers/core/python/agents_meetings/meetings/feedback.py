"""Meeting feedback: a rating (1-5) and an optional comment from a participant who attended.

Rules (issue 11): the meeting must be visible to the caller (else "not found", as for every
meeting route); the caller must have joined it (``joined_at`` set) and be done with it: the
meeting has ended, or the caller has left the room. The host does not rate their own meeting.
One feedback per user per meeting: the item is keyed (meeting, user) and written conditionally,
so a second one is a 409 ``feedback_already_given`` (feedback is a fact, not a draft). Only the
host and admins read a meeting's feedback.

Each feedback publishes ``RatingReceived`` and, with a comment, ``FeedbackReceived``; the notify
worker turns them into the host's ``rating_received`` / ``new_feedback_received``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.clock import utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.errors import Conflict, Forbidden
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.meetings.service import MeetingService, MeetingStatus, ParticipantStatus
from agents_meetings.pagination import Page, decode_cursor, encode_cursor, index_key_names, paginate
from agents_meetings.tables import MeetingFeedbackModel, MeetingModel, ParticipantModel

MIN_RATING = 1
MAX_RATING = 5


@dataclass(frozen=True)
class FeedbackPage:
    page: Page[MeetingFeedbackModel]
    average_rating: float | None
    ratings_count: int


class FeedbackService:
    def __init__(self, events: EventPublisher, audit: AuditLog | None = None):
        self._events = events
        self._audit = audit or AuditLog()
        self._meetings = MeetingService(events, self._audit)

    def give(self, actor: Actor, meeting_id: str, *, rating: int, comment: str | None) -> MeetingFeedbackModel:
        meeting = self._meetings.get_visible(actor, meeting_id)
        if meeting.host_id == actor.user_id:
            raise Forbidden("The host does not give feedback on their own meeting.", code="host_cannot_give_feedback")
        participant = _participant(meeting_id, actor.user_id)
        if participant is None or participant.joined_at is None:
            raise Forbidden("Only participants who attended the meeting can give feedback.", code="not_attended")
        if meeting.status != MeetingStatus.ENDED and participant.status != ParticipantStatus.LEFT:
            raise Conflict("Feedback opens once the meeting has ended or you have left it.", code="meeting_in_progress")
        text = (comment or "").strip() or None
        feedback = MeetingFeedbackModel(
            meeting_id=meeting_id,
            user_id=actor.user_id,
            id=str(uuid.uuid4()),
            rating=rating,
            comment=text,
            recipient_id=meeting.host_id,
            created_at=utcnow(),
        )
        try:
            feedback.save(condition=MeetingFeedbackModel.user_id.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                raise Conflict(
                    "You have already given feedback on this meeting.", code="feedback_already_given"
                ) from exc
            raise
        self._audit.record(
            actor,
            "meeting.feedback_given",
            "meeting",
            meeting_id,
            {"feedback_id": feedback.id, "rating": rating, "with_comment": text is not None},
        )
        self._publish(meeting, feedback)
        return feedback

    def list_for(self, actor: Actor, meeting_id: str, *, limit: int, cursor: str | None) -> FeedbackPage:
        meeting = self._meetings.get_visible(actor, meeting_id)
        if not (actor.is_admin or meeting.host_id == actor.user_id):
            raise Forbidden("Only the meeting's host or an admin can read its feedback.", code="host_required")
        key_names = index_key_names(MeetingFeedbackModel)

        def run(lek: dict[str, Any] | None) -> Any:
            return MeetingFeedbackModel.query(meeting_id, last_evaluated_key=lek)

        items, last = paginate(run, key_names=key_names, limit=limit, cursor_key=decode_cursor(cursor))
        # A meeting's feedback is bounded by its participants: the average is one projected query.
        ratings = [int(f.rating) for f in MeetingFeedbackModel.query(meeting_id, attributes_to_get=["rating"])]
        average = round(sum(ratings) / len(ratings), 2) if ratings else None
        return FeedbackPage(Page(items, encode_cursor(last) if last else None), average, len(ratings))

    def _publish(self, meeting: MeetingModel, feedback: MeetingFeedbackModel) -> None:
        common = {"meeting_id": meeting.id, "recipient_id": meeting.host_id, "from_user_id": feedback.user_id}
        self._events.publish(
            DomainEvent.RATING_RECEIVED, {**common, "rating_id": feedback.id, "rating": int(feedback.rating)}
        )
        if feedback.comment:
            self._events.publish(DomainEvent.FEEDBACK_RECEIVED, {**common, "feedback_id": feedback.id})


def _participant(meeting_id: str, user_id: str) -> ParticipantModel | None:
    try:
        return ParticipantModel.get(meeting_id, user_id)
    except DoesNotExist:
        return None
