"""PresenceService: records when users are seen and answers who is online.

Online means an open notification WebSocket (``ws_connections`` > 0 until the connection's own
expiry, for the disconnects API Gateway never reports) or an authenticated request in the last
``ONLINE_WINDOW``. A request's sighting is written at most once a ``SEEN_THROTTLE`` per user: a
per-container throttle first (no I/O), then a conditional write that only succeeds when the stored
sighting is older (so many containers still make one write a minute per user, not one each).

Who may see whom: admins everyone; anyone else the people they share a meeting with (both have a
participant record in it, among the caller's ``SHARED_MEETINGS_CHECKED`` most recent meetings).
Others' ids are left out of the answer, not refused: the answer never tells whether an id exists.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from agents_meetings.audit import Actor
from agents_meetings.clock import utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.tables import ParticipantModel, UserPresenceModel

ONLINE_WINDOW = timedelta(minutes=5)
SEEN_THROTTLE = timedelta(minutes=1)
MAX_USER_IDS = 100
SHARED_MEETINGS_CHECKED = 50
BATCH_KEYS = 100
# The per-container throttle forgets users beyond this many (a bounded dict, oldest dropped).
_THROTTLE_ENTRIES = 10_000


@dataclass(frozen=True)
class Presence:
    user_id: str
    online: bool
    last_seen_at: datetime | None


class _SeenThrottle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def due(self, user_id: str, now: float) -> bool:
        with self._lock:
            last = self._last.get(user_id)
            if last is not None and now - last < SEEN_THROTTLE.total_seconds():
                return False
            if len(self._last) >= _THROTTLE_ENTRIES:
                self._last.pop(next(iter(self._last)))
            self._last.pop(user_id, None)
            self._last[user_id] = now
            return True

    def clear(self) -> None:
        with self._lock:
            self._last.clear()


_throttle = _SeenThrottle()


def reset_presence_throttle() -> None:
    """Forget the per-container throttle (tests)."""
    _throttle.clear()


def record_seen(user_id: str) -> bool:
    """An authenticated request by ``user_id``; True when this call wrote the sighting."""
    if not _throttle.due(user_id, time.monotonic()):
        return False
    now = utcnow()
    try:
        UserPresenceModel(user_id=user_id).update(
            actions=[UserPresenceModel.last_seen_at.set(now)],
            condition=UserPresenceModel.last_seen_at.does_not_exist()
            | (UserPresenceModel.last_seen_at < now - SEEN_THROTTLE),
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False  # another container wrote it within the minute
        raise
    return True


def websocket_opened(user_id: str, expires_at: datetime) -> None:
    """A notification WebSocket of ``user_id`` opened (valid until ``expires_at`` at most)."""
    UserPresenceModel(user_id=user_id).update(
        actions=[
            UserPresenceModel.ws_connections.add(1),
            UserPresenceModel.ws_online_until.set(expires_at),
            UserPresenceModel.last_seen_at.set(utcnow()),
        ]
    )


def websocket_closed(user_id: str) -> None:
    """One of the user's WebSockets closed (never below zero)."""
    try:
        UserPresenceModel(user_id=user_id).update(
            actions=[UserPresenceModel.ws_connections.add(-1), UserPresenceModel.last_seen_at.set(utcnow())],
            condition=UserPresenceModel.ws_connections > 0,
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def _is_online(item: UserPresenceModel | None, now: datetime) -> bool:
    if item is None:
        return False
    connected = int(item.ws_connections or 0) > 0 and item.ws_online_until is not None and item.ws_online_until > now
    recent = item.last_seen_at is not None and item.last_seen_at > now - ONLINE_WINDOW
    return connected or recent


class PresenceService:
    def presence_of(self, actor: Actor, user_ids: list[str]) -> list[Presence]:
        """The presence of each id the caller may see, in the order asked (duplicates once)."""
        wanted = list(dict.fromkeys(user_ids))
        visible = wanted if actor.is_admin else self._sharing_a_meeting(actor.user_id, wanted)
        if not visible:
            return []
        items: dict[str, UserPresenceModel] = {}
        for start in range(0, len(visible), BATCH_KEYS):
            items.update(
                {item.user_id: item for item in UserPresenceModel.batch_get(visible[start : start + BATCH_KEYS])}
            )
        now = utcnow()
        return [
            Presence(
                user_id=uid,
                online=_is_online(items.get(uid), now),
                last_seen_at=getattr(items.get(uid), "last_seen_at", None),
            )
            for uid in visible
        ]

    @staticmethod
    def _sharing_a_meeting(caller: str, wanted: list[str]) -> list[str]:
        """The ids among ``wanted`` with a participant record in one of the caller's recent meetings:
        one query for the caller's meetings, then BatchGetItem over (meeting, user) pairs, 100 a call,
        stopping as soon as every id is found."""
        found = {caller} if caller in wanted else set()
        remaining = [uid for uid in wanted if uid != caller]
        meetings = [
            p.meeting_id
            for p in ParticipantModel.by_user.query(caller, scan_index_forward=False, limit=SHARED_MEETINGS_CHECKED)
        ]
        pairs = [(meeting_id, uid) for meeting_id in meetings for uid in remaining]
        for start in range(0, len(pairs), BATCH_KEYS):
            chunk = [(meeting_id, uid) for meeting_id, uid in pairs[start : start + BATCH_KEYS] if uid not in found]
            if not chunk:
                continue
            found.update(p.user_id for p in ParticipantModel.batch_get(chunk))
            if len(found) == len(wanted):
                break
        return [uid for uid in wanted if uid in found]
