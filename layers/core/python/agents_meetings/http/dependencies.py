"""Services wired for request handlers; created once per container, overridable in tests.

Dependencies are ``async`` on purpose: a sync dependency costs a thread-pool hop per request, and a
Lambda container serves one request at a time, so the services' blocking I/O on the loop is free.
"""

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


async def publisher() -> EventPublisher:
    return event_publisher()


def build_auth_service() -> AuthService:
    """The AuthService outside dependency injection (the rate-limit middleware, ``AdminRoute``)."""
    return AuthService(event_publisher())


async def auth_service(events: Annotated[EventPublisher, Depends(publisher)]) -> AuthService:
    return AuthService(events)


async def user_service(events: Annotated[EventPublisher, Depends(publisher)]) -> UserService:
    return UserService(events)


async def meeting_service(events: Annotated[EventPublisher, Depends(publisher)]) -> MeetingService:
    return MeetingService(events)


AuthServiceDep = Annotated[AuthService, Depends(auth_service)]
UserServiceDep = Annotated[UserService, Depends(user_service)]
MeetingServiceDep = Annotated[MeetingService, Depends(meeting_service)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
DEFAULT_PAGE = DEFAULT_LIMIT
