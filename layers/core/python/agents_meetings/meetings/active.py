"""Spec 2.2's active_meetings_view: the active meetings a caller may see, each with the number of
participants joined now.

The list of active meetings comes from the meetings' status index and is cached for 30 seconds
(``meetings:active``); the counts (``MeetingModel.participant_count``, kept by the statistics worker
from the join/leave events) for 10 seconds (``participants:<id>``), read for a whole page in one
cache round trip and one BatchGetItem for the misses. Both are invalidated when they change.
Visibility is the meetings' rule: admins see every meeting, anyone else the meetings they host
or are a participant of (one BatchGetItem for the whole list, never a read per meeting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents_meetings.audit import Actor
from agents_meetings.cache import ACTIVE_MEETINGS, CacheService, Lookup, cache_service, participant_count_key
from agents_meetings.clock import isoformat_z
from agents_meetings.errors import InvalidRequest
from agents_meetings.pagination import decode_cursor, encode_cursor
from agents_meetings.tables import MeetingModel, ParticipantModel

ACTIVE_LIST_TTL_SECONDS = 30
PARTICIPANT_COUNT_TTL_SECONDS = 10
# BatchGetItem takes at most 100 keys a call.
BATCH_KEYS = 100


@dataclass(frozen=True)
class ActiveMeetingsPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _summary(meeting: MeetingModel) -> dict[str, Any]:
    """The meeting as JSON-ready data (the cached form)."""

    def instant(value: Any) -> str | None:
        return isoformat_z(value) if value is not None else None

    return {
        "id": meeting.id,
        "title": meeting.title,
        "description": meeting.description,
        "host_id": meeting.host_id,
        "meeting_type": meeting.meeting_type,
        "status": meeting.status,
        "scheduled_at": instant(meeting.scheduled_at),
        "started_at": instant(meeting.started_at),
        "ended_at": instant(meeting.ended_at),
        "languages": list(meeting.languages or []),
        "tags": list(meeting.tags or []),
        "room_name": meeting.room_name,
        "auto_record": bool(meeting.auto_record),
        "created_at": instant(meeting.created_at),
        "updated_at": instant(meeting.updated_at),
    }


def load_active_meetings() -> list[dict[str, Any]]:
    """Every active meeting, soonest scheduled first: one query on the status index (paged)."""
    meetings = [_summary(meeting) for meeting in MeetingModel.by_status.query("active")]
    return sorted(meetings, key=lambda meeting: (meeting["scheduled_at"] or "", meeting["id"]))


def _chunks(items: list[Any], size: int = BATCH_KEYS) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class ActiveMeetingsView:
    def __init__(self, cache: CacheService | None = None):
        self._cache = cache or cache_service()

    def list_for(self, actor: Actor, *, limit: int, cursor: str | None) -> ActiveMeetingsPage:
        meetings = self._cache.get_or_set(ACTIVE_MEETINGS, load_active_meetings, ACTIVE_LIST_TTL_SECONDS)
        visible = meetings if actor.is_admin else self._visible_to(actor.user_id, meetings)
        start = self._position(visible, cursor)
        page = visible[start : start + limit]
        counts = self.participant_counts([meeting["id"] for meeting in page])
        items = [{**meeting, "participant_count": counts.get(meeting["id"], 0)} for meeting in page]
        more = start + limit < len(visible)
        next_cursor = encode_cursor({"after": [page[-1]["scheduled_at"], page[-1]["id"]]}) if more and page else None
        return ActiveMeetingsPage(items, next_cursor)

    def participant_counts(self, meeting_ids: list[str]) -> dict[str, int]:
        """Each meeting's participants joined now: cached counts, the misses in one BatchGetItem."""
        if not meeting_ids:
            return {}
        keys = {participant_count_key(meeting_id): meeting_id for meeting_id in meeting_ids}
        found = self._cache.lookup_many(list(keys))
        counts = {keys[key]: int(lookup.value) for key, lookup in found.items() if lookup.hit}
        missing = [meeting_id for meeting_id in meeting_ids if meeting_id not in counts]
        fresh: dict[str, tuple[Lookup, Any]] = {}
        for chunk in _chunks(missing):
            for meeting in MeetingModel.batch_get(chunk, attributes_to_get=["id", "participant_count"]):
                counts[meeting.id] = max(0, int(meeting.participant_count or 0))
                key = participant_count_key(meeting.id)
                fresh[key] = (found[key], counts[meeting.id])
        if fresh:
            self._cache.store_many(fresh, dict.fromkeys(fresh, PARTICIPANT_COUNT_TTL_SECONDS))
        return counts

    @staticmethod
    def _visible_to(user_id: str, meetings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        others = [meeting["id"] for meeting in meetings if meeting["host_id"] != user_id]
        member: set[str] = set()
        for chunk in _chunks(others):
            member.update(p.meeting_id for p in ParticipantModel.batch_get([(mid, user_id) for mid in chunk]))
        return [meeting for meeting in meetings if meeting["host_id"] == user_id or meeting["id"] in member]

    @staticmethod
    def _position(meetings: list[dict[str, Any]], cursor: str | None) -> int:
        state = decode_cursor(cursor)
        if state is None:
            return 0
        after = state.get("after")
        if not (isinstance(after, list) and len(after) == 2 and all(isinstance(part, str) for part in after)):
            raise InvalidRequest(
                "The cursor does not belong to this listing; start again without one.", code="invalid_cursor"
            )
        marker = (after[0], after[1])
        for index, meeting in enumerate(meetings):
            if (meeting["scheduled_at"] or "", meeting["id"]) > marker:
                return index
        return len(meetings)


def invalidate_active_meetings(cache: CacheService | None = None) -> None:
    """The active list changed (a meeting started, ended or changed while active)."""
    (cache or cache_service()).delete(ACTIVE_MEETINGS)


def invalidate_participant_count(meeting_id: str, cache: CacheService | None = None) -> None:
    (cache or cache_service()).delete(participant_count_key(meeting_id))
