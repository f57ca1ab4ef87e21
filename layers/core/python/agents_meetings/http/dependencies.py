"""Services wired for request handlers; created once per container, overridable in tests."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Query

from agents_meetings.events.publisher import EventBridgePublisher, EventPublisher
from agents_meetings.identity.service import AuthService
from agents_meetings.meetings.service import MeetingService
from agents_meetings.pagination import DEFAULT_LIMIT, MAX_LIMIT
from agents_meetings.users.service import UserService


@lru_cache(maxsize=1)
def event_publisher() -> EventPublisher:
    return EventBridgePublisher()


def auth_service(events: Annotated[EventPublisher, Depends(event_publisher)]) -> AuthService:
    return AuthService(events)


def user_service(events: Annotated[EventPublisher, Depends(event_publisher)]) -> UserService:
    return UserService(events)


def meeting_service(events: Annotated[EventPublisher, Depends(event_publisher)]) -> MeetingService:
    return MeetingService(events)


AuthServiceDep = Annotated[AuthService, Depends(auth_service)]
UserServiceDep = Annotated[UserService, Depends(user_service)]
MeetingServiceDep = Annotated[MeetingService, Depends(meeting_service)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
DEFAULT_PAGE = DEFAULT_LIMIT
