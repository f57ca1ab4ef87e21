"""What the cache holds of the tables: user profiles, meeting details, sessions and the deny list,
read through ``get_or_set`` and invalidated by the models' write hooks (``PlatformModel.on_write``)
after every write, before the response: the next read from any instance sees the write.

Imported by each domain package that writes these tables, so every process that writes registers
the hooks (a worker that updates a meeting invalidates it too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pynamodb.exceptions import DoesNotExist

from agents_meetings.cache import cache_service
from agents_meetings.cache.keys import deny_key, meeting_key, member_key, session_key, user_key
from agents_meetings.cache.service import Lookup
from agents_meetings.tables import (
    MeetingModel,
    ParticipantModel,
    PlatformModel,
    RevokedTokenModel,
    SessionModel,
    UserModel,
)

M = TypeVar("M", bound=PlatformModel)


def to_entry(item: PlatformModel) -> dict[str, Any]:
    return item.to_simple_dict()


def from_entry(model: type[M], entry: dict[str, Any]) -> M:
    item = model()
    item.from_simple_dict(entry)
    return item


def cached_user(user_id: str) -> UserModel:
    """The user (``DoesNotExist`` if none), from ``user:{id}`` when cached."""
    entry = cache_service().get_or_set(user_key(user_id), lambda: _entry_or_none(UserModel, user_id))
    if entry is None:
        raise UserModel.DoesNotExist()
    return from_entry(UserModel, entry)


def cached_meeting(meeting_id: str) -> MeetingModel:
    """The meeting (``DoesNotExist`` if none), from ``meeting:{id}`` when cached."""
    entry = cache_service().get_or_set(meeting_key(meeting_id), lambda: _entry_or_none(MeetingModel, meeting_id))
    if entry is None:
        raise MeetingModel.DoesNotExist()
    return from_entry(MeetingModel, entry)


def cached_membership(meeting_id: str, user_id: str, fetch: Callable[[], bool]) -> bool:
    """Whether the user has a participant record in the meeting, from ``member:{meeting}:{user}``
    when cached (a GET of the meeting prefetches it with the authentication). Only a yes is stored;
    every participant write invalidates it."""
    cache = cache_service()
    key = member_key(meeting_id, user_id)
    found = cache.lookup_many([key])[key]
    if found.hit:
        return bool(found.value)
    present = fetch()
    if present:
        cache.store(key, found, True)
    return present


def user_from(lookup: Lookup, user_id: str) -> tuple[UserModel, dict[str, Any] | None]:
    """The user from a batch lookup, else from DynamoDB: (user, the entry to store, or None)."""
    if lookup.hit and isinstance(lookup.value, dict):
        return from_entry(UserModel, lookup.value), None
    user = UserModel.get(user_id)
    return user, to_entry(user)


def _entry_or_none(model: type[PlatformModel], key: str) -> dict[str, Any] | None:
    try:
        return to_entry(model.get(key))
    except DoesNotExist:
        return None


def _invalidate(key: str) -> None:
    cache = cache_service()
    if cache.enabled:
        cache.delete(key)


UserModel.on_write(lambda user: _invalidate(user_key(user.id)))
MeetingModel.on_write(lambda meeting: _invalidate(meeting_key(meeting.id)))
ParticipantModel.on_write(lambda participant: _invalidate(member_key(participant.meeting_id, participant.user_id)))
SessionModel.on_write(lambda session: _invalidate(session_key(session.id)))
RevokedTokenModel.on_write(lambda entry: _invalidate(deny_key(entry.jti)))
