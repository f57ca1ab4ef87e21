"""PresenceService: records when users are seen and answers who is online.

Online means an open notification WebSocket (``ws_connections`` > 0 until the connection's own
expiry, for the disconnects API Gateway never reports) or an authenticated request in the last
``ONLINE_WINDOW``. A request's sighting is recorded at most once a ``SEEN_THROTTLE`` per user and
container (a per-container throttle first, no I/O). With the cache's shared tier up it is one Redis
``SET seen:<id> <time> EX 3600`` (no condition, no DynamoDB), and the durable record in DynamoDB is
written at most once a ``DURABLE_SEEN_THROTTLE``; without it (cache off, Redis down) the sighting is
the DynamoDB write, as before. Either write is conditional on the stored sighting being older than
its throttle, so many containers still make one write per user per interval, not one each. A read
takes the later of Redis's and DynamoDB's: the Redis value is at most a minute old, DynamoDB's at
most ``DURABLE_SEEN_THROTTLE`` (a Redis outage loses at most the sightings of its first minute).

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
from agents_meetings.cache import cache_service
from agents_meetings.cache.keys import seen_key, ttl_for
from agents_meetings.clock import utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.tables import ParticipantModel, UserPresenceModel

ONLINE_WINDOW = timedelta(minutes=5)
SEEN_THROTTLE = timedelta(minutes=1)
# With the sighting in Redis, the durable record trails it by at most this (well within the Redis
# entry's hour, so a value never expires before DynamoDB holds one at most this much older).
DURABLE_SEEN_THROTTLE = timedelta(minutes=15)
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
    def __init__(self, interval: timedelta) -> None:
        self._interval = interval.total_seconds()
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def due(self, user_id: str, now: float) -> bool:
        with self._lock:
            last = self._last.get(user_id)
            if last is not None and now - last < self._interval:
                return False
            if len(self._last) >= _THROTTLE_ENTRIES:
                self._last.pop(next(iter(self._last)))
            self._last.pop(user_id, None)
            self._last[user_id] = now
            return True

    def clear(self) -> None:
        with self._lock:
            self._last.clear()


_throttle = _SeenThrottle(SEEN_THROTTLE)
_durable_throttle = _SeenThrottle(DURABLE_SEEN_THROTTLE)


def reset_presence_throttle(*, durable: bool = True) -> None:
    """Forget the per-container throttles (tests); ``durable=False`` keeps the durable record's, as a
    minute later in the same container."""
    _throttle.clear()
    if durable:
        _durable_throttle.clear()


def record_seen(user_id: str) -> bool:
    """An authenticated request by ``user_id``; True when this call recorded the sighting (in Redis,
    in DynamoDB or both)."""
    if not _throttle.due(user_id, time.monotonic()):
        return False
    now = utcnow()
    key = seen_key(user_id)
    if cache_service().put_plain(key, now.isoformat(), ttl_for(key, 3600)):
        if not _durable_throttle.due(user_id, time.monotonic()):
            return True
        _write_seen(user_id, now, DURABLE_SEEN_THROTTLE)
        return True
    return _write_seen(user_id, now, SEEN_THROTTLE)


def _write_seen(user_id: str, now: datetime, throttle: timedelta) -> bool:
    try:
        UserPresenceModel(user_id=user_id).update(
            actions=[UserPresenceModel.last_seen_at.set(now)],
            condition=UserPresenceModel.last_seen_at.does_not_exist()
            | (UserPresenceModel.last_seen_at < now - throttle),
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False  # another container wrote it within the interval
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


def _is_online(item: UserPresenceModel | None, last_seen: datetime | None, now: datetime) -> bool:
    connected = (
        item is not None
        and int(item.ws_connections or 0) > 0
        and item.ws_online_until is not None
        and item.ws_online_until > now
    )
    recent = last_seen is not None and last_seen > now - ONLINE_WINDOW
    return connected or recent


def _later(*values: datetime | None) -> datetime | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def _parsed(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


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
        recent = cache_service().get_plain_many(seen_key(uid) for uid in visible) or {}
        now = utcnow()
        out = []
        for uid in visible:
            item = items.get(uid)
            seen = _later(getattr(item, "last_seen_at", None), _parsed(recent.get(seen_key(uid))))
            out.append(Presence(user_id=uid, online=_is_online(item, seen, now), last_seen_at=seen))
        return out

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
