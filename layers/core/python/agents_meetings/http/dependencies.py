"""Services wired for request handlers, built here and only here (created once per container where
they hold clients), with the ``Annotated`` aliases every router uses; tests override them through
FastAPI's ``dependency_overrides``. Also the shared path and pagination parameter types.

Dependencies are ``async`` on purpose: a sync dependency costs a thread-pool hop per request, and a
Lambda container serves one request at a time, so the services' blocking I/O on the loop is free.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Path, Query

from agents_meetings.email import EmailSender, SesEmailSender
from agents_meetings.events.publisher import EventBridgePublisher, EventPublisher
from agents_meetings.identity.password_lifecycle import PasswordService
from agents_meetings.identity.service import AuthService
from agents_meetings.identity.two_factor import TwoFactorService
from agents_meetings.materials.service import MaterialService
from agents_meetings.meetings.feedback import FeedbackService
from agents_meetings.meetings.questions import QUESTION_ID_PATTERN, QuestionService
from agents_meetings.meetings.service import MeetingService
from agents_meetings.notifications.broadcasts import BroadcastService
from agents_meetings.notifications.service import NotificationService
from agents_meetings.pagination import DEFAULT_LIMIT, MAX_LIMIT
from agents_meetings.recordings.service import RecordingService
from agents_meetings.search.service import SearchService
from agents_meetings.transcription.service import TranscriptionService
from agents_meetings.users.service import UserService


@lru_cache(maxsize=1)
def event_publisher() -> EventPublisher:
    return EventBridgePublisher()


@lru_cache(maxsize=1)
def email_sender() -> EmailSender:
    return SesEmailSender()


async def publisher() -> EventPublisher:
    return event_publisher()


PublisherDep = Annotated[EventPublisher, Depends(publisher)]


def build_auth_service() -> AuthService:
    """The AuthService outside dependency injection (the rate-limit middleware, ``AdminRoute``)."""
    return AuthService(event_publisher())


async def auth_service(events: PublisherDep) -> AuthService:
    return AuthService(events)


async def user_service(events: PublisherDep) -> UserService:
    return UserService(events)


async def meeting_service(events: PublisherDep) -> MeetingService:
    return MeetingService(events)


async def password_service(events: PublisherDep) -> PasswordService:
    return PasswordService(events, email_sender())


async def two_factor_service() -> TwoFactorService:
    return TwoFactorService()


async def feedback_service(events: PublisherDep) -> FeedbackService:
    return FeedbackService(events)


async def question_service(events: PublisherDep) -> QuestionService:
    return QuestionService(events)


async def broadcast_service(events: PublisherDep) -> BroadcastService:
    return BroadcastService(events)


async def notification_service() -> NotificationService:
    return NotificationService()


async def material_service(events: PublisherDep) -> MaterialService:
    return MaterialService(events)


async def recording_service(events: PublisherDep) -> RecordingService:
    return RecordingService(events)


async def transcription_service(events: PublisherDep) -> TranscriptionService:
    return TranscriptionService(events)


async def search_service() -> SearchService:
    return SearchService()


AuthServiceDep = Annotated[AuthService, Depends(auth_service)]
UserServiceDep = Annotated[UserService, Depends(user_service)]
MeetingServiceDep = Annotated[MeetingService, Depends(meeting_service)]
PasswordServiceDep = Annotated[PasswordService, Depends(password_service)]
TwoFactorServiceDep = Annotated[TwoFactorService, Depends(two_factor_service)]
FeedbackServiceDep = Annotated[FeedbackService, Depends(feedback_service)]
QuestionServiceDep = Annotated[QuestionService, Depends(question_service)]
BroadcastServiceDep = Annotated[BroadcastService, Depends(broadcast_service)]
NotificationServiceDep = Annotated[NotificationService, Depends(notification_service)]
MaterialServiceDep = Annotated[MaterialService, Depends(material_service)]
RecordingServiceDep = Annotated[RecordingService, Depends(recording_service)]
TranscriptionServiceDep = Annotated[TranscriptionService, Depends(transcription_service)]
SearchServiceDep = Annotated[SearchService, Depends(search_service)]

# Path ids: every platform id (a UUID, or a slug of letters, digits and dashes) is a ResourceId;
# the two ids with a stricter shape of their own (time-ordered hex) say so.
ResourceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
NotificationId = Annotated[str, Path(min_length=16, max_length=24, pattern=r"^[0-9a-f]+$")]
QuestionId = Annotated[str, Path(min_length=24, max_length=24, pattern=QUESTION_ID_PATTERN)]

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
DEFAULT_PAGE = DEFAULT_LIMIT
