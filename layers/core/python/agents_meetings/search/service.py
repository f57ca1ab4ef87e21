"""SearchService: spec 1.3's queries, with the caller's permissions made part of every query.

Admins search everything. Anyone else finds meetings and transcripts only of meetings they host or
were invited to (their participant records, read fresh on each query: a new invitation counts at
once), active users only and never by or with their email, and their own materials.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from agents_meetings.audit import Actor
from agents_meetings.errors import Unprocessable
from agents_meetings.observability import emit_dimensioned
from agents_meetings.search.backend import (
    DateRange,
    SearchBackend,
    SearchHit,
    SearchQuery,
    SearchResult,
    SortOrder,
    words_of,
)
from agents_meetings.search.indexes import FACETS, INDEXES, USERS, EntityType
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import MeetingModel, ParticipantModel

PUBLIC_USER_FIELDS = ("id", "full_name", "role", "bio", "expertise", "is_active")


@lru_cache(maxsize=1)
def _temporary_index_dir() -> str:
    return tempfile.mkdtemp(prefix="agents-meetings-search-")


def embedded_index_dir(settings: Settings) -> str:
    if settings.search_index_dir:
        return settings.search_index_dir
    if settings.local_data_dir and settings.local_data_dir != "none":
        return str(Path(settings.local_data_dir) / "search")
    return _temporary_index_dir()


def search_backend(settings: Settings | None = None) -> SearchBackend:
    """The configured engine, one per container (the embedded one: one per index directory)."""
    settings = settings or get_settings()
    if settings.search_backend == "opensearch":
        return _opensearch_backend(
            settings.opensearch_url or "",
            settings.opensearch_auth,
            settings.aws_region,
            settings.opensearch_service,
            settings.search_index_prefix,
        )
    # Optional dependency: the embedded engine needs tantivy, a `local` extra the Lambda layer lacks.
    from agents_meetings.search.embedded import embedded_engine

    return embedded_engine(embedded_index_dir(settings))


@lru_cache(maxsize=2)
def _opensearch_backend(url: str, auth: str, region: str, service: str, prefix: str) -> SearchBackend:
    if not url:
        raise RuntimeError("SEARCH_BACKEND=opensearch needs OPENSEARCH_URL")
    # Cold start: opensearch-py (~0.5 s to import) loads only where SEARCH_BACKEND=opensearch.
    from agents_meetings.search.opensearch import OpenSearchBackend, build_client

    return OpenSearchBackend(build_client(url, auth=auth, region=region, service=service), prefix=prefix)


def reset_search_backends() -> None:
    _opensearch_backend.cache_clear()


@dataclass(frozen=True)
class Page:
    query: SearchQuery
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class TypedHit:
    type: EntityType
    hit: SearchHit


@dataclass(frozen=True)
class CombinedResult:
    total: int
    hits: list[TypedHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def count_query(entity_type: str) -> None:
    """``SearchQueries`` per entity type searched (``all``: every index at once), one per query."""
    emit_dimensioned({"SearchQueries": ("Count", 1)}, {"entity_type": entity_type})


def parse_filters(raw: str | None, allowed: Sequence[str]) -> dict[str, list[str]]:
    """``field:value,field:value`` (values of one field OR-ed); unknown fields are a 422."""
    filters: dict[str, list[str]] = {}
    if not raw:
        return filters
    for part in raw.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not value or name not in allowed:
            raise Unprocessable(
                "filters must be field:value pairs separated by commas, with fields from the list.",
                code="invalid_filter",
                details={"filter": part, "allowed": list(allowed)},
            )
        filters.setdefault(name, []).append(value)
    return filters


class SearchService:
    def __init__(self, backend: SearchBackend | None = None):
        self.backend = backend or search_backend()

    # --- permissions ---------------------------------------------------------------------

    @staticmethod
    def visible_meeting_ids(actor: Actor) -> list[str] | None:
        """None: everything (admins); else the meetings the actor hosts or was invited to."""
        if actor.is_admin:
            return None
        ids = {p.meeting_id for p in ParticipantModel.by_user.query(actor.user_id)}
        ids.update(m.id for m in MeetingModel.by_host.query(actor.user_id))
        return sorted(ids)

    # --- per-index searches --------------------------------------------------------------

    def search_meetings(
        self,
        actor: Actor,
        text: str | None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        host: str | None = None,
        language: str | None = None,
        status: str | None = None,
        filters: dict[str, list[str]] | None = None,
        sort: SortOrder = "relevance",
        limit: int = 20,
        offset: int = 0,
    ) -> SearchResult:
        wanted = dict(filters or {})
        for name, value in (("host_id", host), ("languages", language), ("status", status)):
            if value:
                wanted[name] = [value]
        visible = self.visible_meeting_ids(actor)
        if visible is not None:
            if not visible:
                return SearchResult(total=0, hits=[], facets={name: {} for name in FACETS[EntityType.MEETING]})
            wanted["id"] = _intersect(wanted.get("id"), visible)
        spec = INDEXES[EntityType.MEETING]
        return self.backend.search(
            spec,
            SearchQuery(
                text=text,
                filters=wanted,
                date_range=DateRange("scheduled_at", start, end) if start or end else None,
                facets=FACETS[EntityType.MEETING],
                sort=sort,
                limit=limit,
                offset=offset,
            ),
        )

    def search_transcripts(
        self,
        actor: Actor,
        text: str | None,
        *,
        meeting_id: str | None = None,
        language: str | None = None,
        speaker: str | None = None,
        filters: dict[str, list[str]] | None = None,
        sort: SortOrder = "relevance",
        limit: int = 20,
        offset: int = 0,
    ) -> SearchResult:
        wanted = dict(filters or {})
        for name, value in (("meeting_id", meeting_id), ("language", language), ("speaker", speaker)):
            if value:
                wanted[name] = [value]
        visible = self.visible_meeting_ids(actor)
        if visible is not None:
            allowed = _intersect(wanted.get("meeting_id"), visible)
            if not allowed:
                return SearchResult(total=0, hits=[], facets={name: {} for name in FACETS[EntityType.TRANSCRIPT]})
            wanted["meeting_id"] = allowed
        return self.backend.search(
            INDEXES[EntityType.TRANSCRIPT],
            SearchQuery(
                text=text,
                filters=wanted,
                fields=("text",),
                facets=FACETS[EntityType.TRANSCRIPT],
                sort=sort,
                limit=limit,
                offset=offset,
            ),
        )

    def search_users(
        self,
        actor: Actor,
        text: str | None,
        *,
        role: str | None = None,
        is_active: bool | None = None,
        filters: dict[str, list[str]] | None = None,
        sort: SortOrder = "relevance",
        limit: int = 20,
        offset: int = 0,
    ) -> SearchResult:
        wanted = dict(filters or {})
        if role:
            wanted["role"] = [role]
        if is_active is not None:
            wanted["is_active"] = ["true" if is_active else "false"]
        fields: tuple[str, ...] = ()
        if not actor.is_admin:
            # Others find active users by name, bio and expertise; never by (or with) an email.
            if wanted.get("is_active") == ["false"]:
                return SearchResult(total=0, hits=[], facets={name: {} for name in FACETS[EntityType.USER]})
            wanted["is_active"] = ["true"]
            fields = ("full_name", "bio", "expertise")
        result = self.backend.search(
            USERS,
            SearchQuery(
                text=text,
                filters=wanted,
                fields=fields,
                facets=FACETS[EntityType.USER],
                sort=sort,
                limit=limit,
                offset=offset,
            ),
        )
        if actor.is_admin:
            return result
        hits = [
            SearchHit(
                id=hit.id,
                score=hit.score,
                source={k: v for k, v in hit.source.items() if k in PUBLIC_USER_FIELDS},
                highlights={k: v for k, v in hit.highlights.items() if k != "email"},
            )
            for hit in result.hits
        ]
        return SearchResult(total=result.total, hits=hits, facets=result.facets)

    def search_materials(
        self,
        actor: Actor,
        text: str | None,
        *,
        subject: str | None = None,
        filters: dict[str, list[str]] | None = None,
        sort: SortOrder = "relevance",
        limit: int = 20,
        offset: int = 0,
    ) -> SearchResult:
        wanted = dict(filters or {})
        if subject:
            wanted["subject"] = [subject]
        if not actor.is_admin:
            wanted["owner_id"] = [actor.user_id]
        return self.backend.search(
            INDEXES[EntityType.MATERIAL],
            SearchQuery(
                text=text, filters=wanted, facets=FACETS[EntityType.MATERIAL], sort=sort, limit=limit, offset=offset
            ),
        )

    def search_type(
        self,
        actor: Actor,
        entity_type: EntityType,
        text: str | None,
        filters: dict[str, list[str]],
        *,
        sort: SortOrder = "relevance",
        limit: int = 20,
        offset: int = 0,
    ) -> SearchResult:
        if entity_type is EntityType.MEETING:
            return self.search_meetings(actor, text, filters=filters, sort=sort, limit=limit, offset=offset)
        if entity_type is EntityType.TRANSCRIPT:
            return self.search_transcripts(actor, text, filters=filters, sort=sort, limit=limit, offset=offset)
        if entity_type is EntityType.USER:
            return self.search_users(actor, text, filters=filters, sort=sort, limit=limit, offset=offset)
        return self.search_materials(actor, text, filters=filters, sort=sort, limit=limit, offset=offset)

    def search_everything(self, actor: Actor, text: str | None, *, limit: int = 20, offset: int = 0) -> CombinedResult:
        """Every index the caller may search, merged by score; the ``type`` facet counts each."""
        merged: list[TypedHit] = []
        counts: dict[str, int] = {}
        for entity_type in EntityType:
            result = self.search_type(actor, entity_type, text, {}, limit=offset + limit, offset=0)
            counts[entity_type.value] = result.total
            merged.extend(TypedHit(entity_type, hit) for hit in result.hits)
        merged.sort(key=lambda typed: typed.hit.score, reverse=True)
        return CombinedResult(total=sum(counts.values()), hits=merged[offset : offset + limit], facets={"type": counts})

    def suggest(self, actor: Actor, text: str, entity_type: EntityType, *, limit: int = 8) -> list[str]:
        filters: dict[str, Sequence[str]] = {}
        if entity_type in (EntityType.MEETING, EntityType.TRANSCRIPT):
            visible = self.visible_meeting_ids(actor)
            if visible is not None:
                if not visible:
                    return []
                filters["id" if entity_type is EntityType.MEETING else "meeting_id"] = visible
        elif entity_type is EntityType.USER and not actor.is_admin:
            filters["is_active"] = ["true"]
        elif entity_type is EntityType.MATERIAL and not actor.is_admin:
            filters["owner_id"] = [actor.user_id]
        if entity_type is EntityType.TRANSCRIPT:
            return self._suggest_words(text, filters, limit)
        return self.backend.suggest(INDEXES[entity_type], text, filters=filters, limit=limit)

    def _suggest_words(self, text: str, filters: dict[str, Sequence[str]], limit: int) -> list[str]:
        """Transcripts complete the word being typed from the segments' own words."""
        segments = self.backend.suggest(INDEXES[EntityType.TRANSCRIPT], text, filters=filters, limit=limit * 3)
        typed = words_of(text)
        if not typed:
            return []
        head, last = " ".join(typed[:-1]), typed[-1]
        completions: list[str] = []
        for segment in segments:
            for word in words_of(segment):
                if word.startswith(last):
                    suggestion = f"{head} {word}".strip()
                    if suggestion not in completions:
                        completions.append(suggestion)
        return completions[:limit]


def _intersect(requested: Sequence[str] | None, visible: list[str]) -> list[str]:
    if requested is None:
        return visible
    allowed = set(visible)
    return [value for value in requested if value in allowed]


def describe(hit: SearchHit) -> dict[str, Any]:
    return {"id": hit.id, "score": hit.score, "highlights": hit.highlights, **hit.source}
