"""/api/v1/auth/sessions: your signed-in devices; end one, or sign out everywhere."""

from __future__ import annotations

from fastapi import APIRouter, status

from agents_meetings.audit import AuditLog
from agents_meetings.http.dependencies import ResourceId
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas.sessions import EndedOut, SessionOut
from agents_meetings.http.security import CurrentPrincipal
from agents_meetings.users.sessions import SessionService

router = APIRouter(prefix="/api/v1/auth/sessions", tags=["auth: sessions"])


@router.get(
    "",
    response_model=list[SessionOut],
    responses=error_responses(401, 403),
    summary="Your open sessions (device, IP, last seen), most recently used first",
)
async def list_sessions(principal: CurrentPrincipal) -> list[SessionOut]:
    return [
        SessionOut(
            id=s.id,
            device=s.device,
            ip=s.ip,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            current=s.id == principal.claims.session_id,
        )
        for s in SessionService().list(principal.user.id)
    ]


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
    summary="End one of your sessions (its tokens stop working at once)",
)
async def end_session(session_id: ResourceId, principal: CurrentPrincipal) -> None:
    SessionService().end(principal.user.id, session_id)
    AuditLog().record(principal.actor, "auth.session_ended", "session", session_id)


@router.delete(
    "", response_model=EndedOut, responses=error_responses(401, 403), summary="Log out all devices, this one included"
)
async def end_all_sessions(principal: CurrentPrincipal) -> EndedOut:
    ended = SessionService().end_all(principal.user.id)
    AuditLog().record(principal.actor, "auth.sessions_ended", "user", principal.user.id, {"count": ended})
    return EndedOut(ended=ended)
