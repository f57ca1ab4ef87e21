"""The domain events the search indexer consumes (light: the CDK app and the catalogue import it)."""

from __future__ import annotations

from agents_meetings.events.catalog import DomainEvent

MEETING_EVENTS = frozenset(
    {
        DomainEvent.MEETING_CREATED,
        DomainEvent.MEETING_STARTED,
        DomainEvent.MEETING_ENDED,
        DomainEvent.MEETING_UPDATED,
        DomainEvent.PARTICIPANT_JOINED,
        DomainEvent.PARTICIPANT_LEFT,
    }
)
USER_EVENTS = frozenset(
    {
        DomainEvent.USER_REGISTERED,
        DomainEvent.USER_APPROVED,
        DomainEvent.USER_REJECTED,
        DomainEvent.USER_ROLE_CHANGED,
        DomainEvent.USER_PROFILE_UPDATED,
    }
)
# Every event the indexer consumes (the EventBridge rule's detail types).
INDEXED_EVENTS: tuple[DomainEvent, ...] = (
    *sorted(MEETING_EVENTS),
    *sorted(USER_EVENTS),
    DomainEvent.TRANSCRIPT_READY,
    DomainEvent.MATERIAL_UPLOADED,
    DomainEvent.MATERIAL_DELETED,
    DomainEvent.SEARCH_REINDEX_REQUESTED,
)

__all__ = ["INDEXED_EVENTS", "MEETING_EVENTS", "USER_EVENTS"]
