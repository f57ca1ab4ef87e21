"""Sessions: one per sign-in, shared by the access and refresh tokens it issues (``sid`` claim).

- Refresh tokens rotate on every use; the session remembers the one refresh token id that is
  current. Presenting any other (an already-rotated one) means it was copied: the whole session
  ends (theft detection), for the thief and the owner alike.
- A session ends after ``SESSION_IDLE_MINUTES`` without a request (default 30), and at most
  ``MAX_SESSIONS_PER_USER`` are open at once (the least recently used ends first).
- A user lists their sessions (device, IP, last seen) and ends one or all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from agents_meetings.clock import utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.errors import NotFound, Unauthenticated
from agents_meetings.request_context import current_origin
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import SessionModel

# last_seen_at is written at most this often per session: an idle clock in minutes needs no
# write on every request.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionView:
    id: str
    device: str | None
    ip: str | None
    created_at: datetime
    last_seen_at: datetime


def _ended(message: str, code: str = "session_ended") -> Unauthenticated:
    return Unauthenticated(message, code=code)


class SessionService:
    def __init__(self, settings: Settings | None = None):
        self._settings = settings or get_settings()

    @property
    def idle_limit(self) -> timedelta:
        return timedelta(minutes=self._settings.session_idle_minutes)

    def start(self, session_id: str, user_id: str, refresh_jti: str, refresh_expires_at: int) -> None:
        now = utcnow()
        origin = current_origin.get()
        SessionModel(
            id=session_id,
            user_id=user_id,
            current_refresh_jti=refresh_jti,
            device=(origin.user_agent or "")[:300] or None,
            ip=origin.ip,
            created_at=now,
            last_seen_at=now,
            expires_at=datetime.fromtimestamp(refresh_expires_at, tz=UTC),
        ).save(condition=SessionModel.id.does_not_exist())
        self._enforce_limit(user_id, keep=session_id)

    def _enforce_limit(self, user_id: str, keep: str) -> None:
        open_sessions = [s for s in self._open_sessions(user_id) if s.id != keep]
        excess = len(open_sessions) + 1 - self._settings.max_sessions_per_user
        for stale in sorted(open_sessions, key=lambda s: s.last_seen_at)[: max(0, excess)]:
            self._end(stale, "session_limit")

    def rotate(self, session_id: str, presented_jti: str, new_jti: str) -> None:
        """Make ``new_jti`` the session's refresh token, only if ``presented_jti`` is the current one."""
        session = self._active(session_id)
        try:
            session.update(
                actions=[SessionModel.current_refresh_jti.set(new_jti), SessionModel.last_seen_at.set(utcnow())],
                condition=(SessionModel.current_refresh_jti == presented_jti)
                & SessionModel.revoked_at.does_not_exist(),
            )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            self.detect_reuse(session_id)
            raise _ended("This session has ended; sign in again.") from exc

    def detect_reuse(self, session_id: str) -> None:
        """A rotated refresh token came back: someone holds a copy. End the whole session."""
        try:
            session = SessionModel.get(session_id, consistent_read=True)
        except DoesNotExist:
            return
        self._end(session, "refresh_token_reused")

    def touch(self, session_id: str) -> None:
        """Called on every authenticated request: refuses ended or idle sessions, records activity."""
        self._touch_loaded(self._active(session_id), utcnow())

    def _touch_loaded(self, session: SessionModel, now: datetime) -> None:
        if now - session.last_seen_at >= TOUCH_INTERVAL:
            try:
                session.update(
                    actions=[SessionModel.last_seen_at.set(now)], condition=SessionModel.revoked_at.does_not_exist()
                )
            except UpdateError as exc:
                raise _ended("This session has ended; sign in again.") from exc

    def check(self, session_id: str, known: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """``touch`` given the session's cached state: a session seen open less than TOUCH_INTERVAL
        ago (shorter than any idle limit) needs neither a read nor a write. Otherwise the session is
        read and touched as ever, and its state to cache is returned (None: nothing new to cache)."""
        now = utcnow()
        if known is not None:
            try:
                last_seen = datetime.fromisoformat(str(known["last_seen_at"]))
            except (KeyError, ValueError):
                last_seen = None
            if last_seen is not None and timedelta(0) <= now - last_seen < TOUCH_INTERVAL:
                return None
        session = self._active(session_id)
        last_seen = session.last_seen_at
        if now - last_seen >= TOUCH_INTERVAL:
            self._touch_loaded(session, now)
            last_seen = now
        return {"last_seen_at": last_seen.isoformat()}

    def _active(self, session_id: str) -> SessionModel:
        try:
            session = SessionModel.get(session_id, consistent_read=True)
        except DoesNotExist as exc:
            raise _ended("This session has ended; sign in again.") from exc
        if session.revoked_at is not None:
            raise _ended("This session has ended; sign in again.")
        if utcnow() - session.last_seen_at > self.idle_limit:
            self._end(session, "idle")
            raise _ended(
                f"Signed out after {self._settings.session_idle_minutes} minutes without activity.",
                code="session_expired",
            )
        return session

    def _open_sessions(self, user_id: str) -> list[SessionModel]:
        now = utcnow()
        return [
            s
            for s in SessionModel.by_user.query(user_id)
            if s.revoked_at is None
            and now - s.last_seen_at <= self.idle_limit
            and (s.expires_at is None or s.expires_at > now)
        ]

    def list(self, user_id: str) -> list[SessionView]:
        return [
            SessionView(s.id, s.device, s.ip, s.created_at, s.last_seen_at)
            for s in sorted(self._open_sessions(user_id), key=lambda s: s.last_seen_at, reverse=True)
        ]

    def end(self, user_id: str, session_id: str, reason: str = "signed_out") -> None:
        try:
            session = SessionModel.get(session_id, consistent_read=True)
        except DoesNotExist as exc:
            raise NotFound("Session not found.", code="session_not_found") from exc
        if session.user_id != user_id:
            raise NotFound("Session not found.", code="session_not_found")  # another user's: not leaked
        self._end(session, reason)

    def end_all(self, user_id: str, reason: str = "signed_out_everywhere") -> int:
        sessions = self._open_sessions(user_id)
        for session in sessions:
            self._end(session, reason)
        return len(sessions)

    @staticmethod
    def _end(session: SessionModel, reason: str) -> None:
        try:
            session.update(
                actions=[SessionModel.revoked_at.set(utcnow()), SessionModel.revoked_reason.set(reason)],
                condition=SessionModel.revoked_at.does_not_exist(),
            )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise  # already ended is fine; anything else is a real failure
