"""/api/v1/notifications (a user's own notifications, preferences, WebSocket tickets, the SSE
stream, unsubscribe links) and /api/v1/admin/announcements.

SSE on API Gateway REST + Lambda cannot stream indefinitely (a response is buffered and sent
whole), so ``/stream`` is a bounded long-poll in SSE framing: it answers as soon as notifications
newer than ``Last-Event-ID`` exist, or after ``NOTIFICATION_SSE_WAIT_SECONDS`` with none, and
ends with ``retry:`` so that ``EventSource`` reconnects at once and resumes with its last id.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from agents_meetings.audit import AuditLog
from agents_meetings.clock import utcnow
from agents_meetings.errors import InvalidRequest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.http.dependencies import (
    DEFAULT_PAGE,
    Cursor,
    Limit,
    NotificationId,
    NotificationServiceDep,
    PublisherDep,
)
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas import PageOut
from agents_meetings.http.schemas.notifications import (
    AnnouncementIn,
    AnnouncementOut,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    ReadAllOut,
    TicketOut,
    UnreadCountOut,
    UnsubscribeOut,
)
from agents_meetings.http.security import AdminPrincipal, AdminRoute, CurrentPrincipal
from agents_meetings.notifications import ids
from agents_meetings.notifications.catalog import Category, Priority
from agents_meetings.notifications.email import read_unsubscribe_token
from agents_meetings.notifications.preferences import PreferenceChanges, PreferenceService
from agents_meetings.notifications.service import public
from agents_meetings.notifications.websocket import TicketService
from agents_meetings.settings import get_settings

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
admin_router = APIRouter(prefix="/api/v1/admin/announcements", tags=["notifications"], route_class=AdminRoute)

SSE_RETRY_MS = 1000
SSE_POLL_SECONDS = 1.0


READ_ERRORS = error_responses(401, 403, 404)


@router.get(
    "",
    response_model=PageOut[NotificationOut],
    responses=error_responses(400, 401, 403, 422),
    summary="My notifications, newest first",
)
async def list_notifications(
    principal: CurrentPrincipal,
    service: NotificationServiceDep,
    unread: Annotated[bool, Query(description="Only unread ones")] = False,
    category: Annotated[Category | None, Query()] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> PageOut[NotificationOut]:
    page = service.list_notifications(
        principal.user.id, unread_only=unread, category=category.value if category else None, limit=limit, cursor=cursor
    )
    return PageOut(items=[NotificationOut(**public(n)) for n in page.items], next_cursor=page.next_cursor)


@router.get(
    "/unread-count", response_model=UnreadCountOut, responses=error_responses(401, 403), summary="How many are unread"
)
async def unread_count(principal: CurrentPrincipal, service: NotificationServiceDep) -> UnreadCountOut:
    return UnreadCountOut(unread_count=service.get_unread_count(principal.user.id))


@router.post("/read-all", response_model=ReadAllOut, responses=error_responses(401, 403), summary="Mark all read")
async def read_all(principal: CurrentPrincipal, service: NotificationServiceDep) -> ReadAllOut:
    changed = service.mark_all_as_read(principal.user.id)
    return ReadAllOut(marked_read=changed, unread_count=service.get_unread_count(principal.user.id))


@router.get(
    "/preferences", response_model=PreferencesOut, responses=error_responses(401, 403), summary="My preferences"
)
async def get_preferences(principal: CurrentPrincipal) -> PreferencesOut:
    return PreferencesOut(**PreferenceService().get(principal.user.id).as_dict())


@router.put(
    "/preferences",
    response_model=PreferencesOut,
    responses=error_responses(401, 403, 422),
    summary="Change my preferences",
)
async def put_preferences(body: PreferencesIn, principal: CurrentPrincipal) -> PreferencesOut:
    sent = body.model_fields_set
    clear_quiet = (
        {"quiet_hours_start", "quiet_hours_end"} <= sent
        and body.quiet_hours_start is None
        and body.quiet_hours_end is None
    )
    changes = PreferenceChanges(
        channels=body.channels.model_dump(exclude_unset=True) if body.channels else None,
        categories={k: v.model_dump(exclude_unset=True) for k, v in (body.categories or {}).items()} or None,
        types={k: v.model_dump(exclude_unset=True) for k, v in (body.types or {}).items()} or None,
        quiet_hours_start=body.quiet_hours_start,
        quiet_hours_end=body.quiet_hours_end,
        clear_quiet_hours=clear_quiet,
        timezone=body.timezone,
        group_similar_notifications=body.group_similar_notifications,
        max_notifications_per_hour=body.max_notifications_per_hour,
        clear_max_notifications_per_hour="max_notifications_per_hour" in sent
        and body.max_notifications_per_hour is None,
    )
    return PreferencesOut(**PreferenceService().update(principal.user.id, changes).as_dict())


@router.post(
    "/ws-ticket",
    response_model=TicketOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403),
    summary="A single-use WebSocket ticket",
)
async def ws_ticket(principal: CurrentPrincipal) -> TicketOut:
    ticket, ttl = TicketService().issue(principal.user.id)
    return TicketOut(ticket=ticket, expires_in=ttl, url=get_settings().websocket_url)


@router.get(
    "/stream",
    response_class=Response,
    responses={200: {"content": {"text/event-stream": {}}}, **error_responses(400, 401, 403)},
    summary="Server-Sent Events: notifications after Last-Event-ID (bounded long-poll, then retry)",
)
async def stream(
    principal: CurrentPrincipal,
    service: NotificationServiceDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=64)] = None,
    after: Annotated[
        str | None, Query(max_length=64, description="Same as Last-Event-ID (for clients that cannot set it)")
    ] = None,
    wait: Annotated[
        int | None, Query(ge=0, le=25, description="Seconds to wait for news (default: server setting)")
    ] = None,
) -> Response:
    cursor = last_event_id or after
    if cursor is not None and not (ids.is_valid(cursor) or (len(cursor) == 16 and cursor.isdigit())):
        raise InvalidRequest("Last-Event-ID is not a notification id.", code="invalid_last_event_id")
    user_id = principal.user.id
    lines = [f"retry: {SSE_RETRY_MS}", ""]
    if cursor is None:
        # A new stream starts now: its position is the newest notification (or the current time).
        position = service.newest_id(user_id) or ids.cursor_at(utcnow())
        lines = [
            f"retry: {SSE_RETRY_MS}",
            f"id: {position}",
            "event: ready",
            f"data: {json.dumps({'unread_count': service.get_unread_count(user_id)})}",
            "",
        ]
        return _sse(lines)
    budget = get_settings().notification_sse_wait_seconds if wait is None else wait
    deadline = time.monotonic() + budget
    while True:
        found = service.since(user_id, cursor)
        if found or time.monotonic() >= deadline:
            break
        await asyncio.sleep(min(SSE_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    for notification in found:
        lines += [f"id: {notification.id}", "event: notification", f"data: {json.dumps(public(notification))}", ""]
    if not found:
        lines += [": no news; reconnect", ""]
    return _sse(lines)


def _sse(lines: list[str]) -> Response:
    return Response(
        content="\n".join(lines) + "\n",
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/unsubscribe",
    response_model=UnsubscribeOut,
    responses=error_responses(400),
    summary="Unsubscribe link of an email (no sign-in)",
)
async def unsubscribe_link(token: Annotated[str, Query(min_length=10, max_length=2048)]) -> UnsubscribeOut:
    return _unsubscribe(token)


@router.post(
    "/unsubscribe",
    response_model=UnsubscribeOut,
    responses=error_responses(400),
    summary="One-click unsubscribe (RFC 8058)",
)
async def unsubscribe_one_click(token: Annotated[str, Query(min_length=10, max_length=2048)]) -> UnsubscribeOut:
    return _unsubscribe(token)


def _unsubscribe(token: str) -> UnsubscribeOut:
    user_id, category = read_unsubscribe_token(token)
    if category not in {c.value for c in Category}:
        raise InvalidRequest("This unsubscribe link is not valid.", code="invalid_unsubscribe_token")
    PreferenceService.set_channels(user_id, f"category#{category}", {"email": False})
    return UnsubscribeOut(unsubscribed=True, category=category)


@router.post("/{notification_id}/read", response_model=NotificationOut, responses=READ_ERRORS, summary="Mark one read")
async def mark_read(
    notification_id: NotificationId, principal: CurrentPrincipal, service: NotificationServiceDep
) -> NotificationOut:
    return NotificationOut(**public(service.mark_as_read(notification_id, principal.user.id)))


@router.delete(
    "/{notification_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=READ_ERRORS,
    summary="Delete one",
)
async def delete_notification(
    notification_id: NotificationId, principal: CurrentPrincipal, service: NotificationServiceDep
) -> Response:
    service.delete_notification(notification_id, principal.user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.post(
    "",
    response_model=AnnouncementOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 403, 422),
    summary="Announce to everyone or one role (admins)",
)
async def announce(body: AnnouncementIn, principal: AdminPrincipal, events: PublisherDep) -> AnnouncementOut:
    announcement_id = str(uuid.uuid4())
    AuditLog().record(
        principal.actor,
        "notification.announced",
        "announcement",
        announcement_id,
        {"audience": body.audience, "title": body.title, "priority": body.priority},
    )
    events.publish(
        DomainEvent.ANNOUNCEMENT_PUBLISHED,
        {
            "announcement_id": announcement_id,
            "title": body.title,
            "message": body.message,
            "priority": Priority(body.priority).value,
            "audience": body.audience,
            "published_by": principal.user.id,
        },
    )
    return AnnouncementOut(announcement_id=announcement_id, audience=body.audience)
