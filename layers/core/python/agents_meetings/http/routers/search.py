"""/api/v1/search (spec 1.3): global, meetings, transcripts, users, suggest; admin reindex."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Query, status

from agents_meetings.errors import Unprocessable
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.http.dependencies import PublisherDep, SearchServiceDep
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas import BoundedDateTime
from agents_meetings.http.schemas.search import (
    HitOut,
    IndexJobOut,
    ReindexIn,
    SearchOut,
    SuggestOut,
    TranscriptHitOut,
    TranscriptSearchOut,
)
from agents_meetings.http.security import AdminPrincipal, AdminRoute, CurrentPrincipal
from agents_meetings.search import jobs
from agents_meetings.search.backend import SearchHit, SearchResult
from agents_meetings.search.indexer import request_reindex
from agents_meetings.search.indexes import FACETS, EntityType
from agents_meetings.search.service import count_query, parse_filters

if TYPE_CHECKING:
    pass

router = APIRouter(prefix="/api/v1/search", tags=["search"])
admin_router = APIRouter(prefix="/api/v1/admin/search", tags=["search"], route_class=AdminRoute)

ERRORS = error_responses(401, 403, 422)
Text = Annotated[str | None, Query(max_length=500, description='Words to find; "quoted words" are a phrase')]
Offset = Annotated[int, Query(ge=0, le=10_000)]
SearchLimit = Annotated[int, Query(ge=1, le=100)]
Sort = Annotated[Literal["relevance", "date_desc", "date_asc"], Query(description="relevance or by date")]


def _hit(entity_type: EntityType, hit: SearchHit) -> HitOut:
    return HitOut(type=entity_type, id=hit.id, score=hit.score, highlights=hit.highlights, document=hit.source)


def _out(entity_type: EntityType, result: SearchResult, limit: int, offset: int) -> SearchOut:
    return SearchOut(
        total=result.total,
        limit=limit,
        offset=offset,
        results=[_hit(entity_type, hit) for hit in result.hits],
        facets=result.facets,
    )


def _check_range(start: datetime | None, end: datetime | None) -> None:
    if start and end and start > end:
        raise Unprocessable("'from' must not be after 'to'.", code="invalid_date_range")


@router.get("", response_model=SearchOut, responses=ERRORS, summary="Search everything you may see")
async def search_all(
    principal: CurrentPrincipal,
    service: SearchServiceDep,
    q: Text = None,
    type: Annotated[Literal["all", "meeting", "transcript", "user", "material"], Query()] = "all",
    filters: Annotated[
        str | None, Query(max_length=1000, description="field:value pairs, comma separated (type-specific)")
    ] = None,
    sort: Sort = "relevance",
    limit: SearchLimit = 20,
    offset: Offset = 0,
) -> SearchOut:
    if type == "all":
        if filters:
            raise Unprocessable("filters need a single type.", code="invalid_filter")
        combined = service.search_everything(principal.actor, q, limit=limit, offset=offset)
        count_query("all")
        return SearchOut(
            total=combined.total,
            limit=limit,
            offset=offset,
            results=[_hit(typed.type, typed.hit) for typed in combined.hits],
            facets=combined.facets,
        )
    entity_type = EntityType(type)
    parsed = parse_filters(filters, FACETS[entity_type])
    result = service.search_type(principal.actor, entity_type, q, parsed, sort=sort, limit=limit, offset=offset)
    count_query(entity_type.value)
    return _out(entity_type, result, limit, offset)


@router.get("/meetings", response_model=SearchOut, responses=ERRORS, summary="Search meetings you may see")
async def search_meetings(
    principal: CurrentPrincipal,
    service: SearchServiceDep,
    q: Text = None,
    start: Annotated[BoundedDateTime | None, Query(alias="from", description="scheduled at or after")] = None,
    end: Annotated[BoundedDateTime | None, Query(alias="to", description="scheduled at or before")] = None,
    host: Annotated[str | None, Query(max_length=64, description="host's user id")] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
    status_filter: Annotated[Literal["scheduled", "active", "ended", "cancelled"] | None, Query(alias="status")] = None,
    sort: Sort = "relevance",
    limit: SearchLimit = 20,
    offset: Offset = 0,
) -> SearchOut:
    _check_range(start, end)
    result = service.search_meetings(
        principal.actor,
        q,
        start=start,
        end=end,
        host=host,
        language=language,
        status=status_filter,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    count_query(EntityType.MEETING.value)
    return _out(EntityType.MEETING, result, limit, offset)


def _timestamp(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@router.get(
    "/transcripts",
    response_model=TranscriptSearchOut,
    responses=ERRORS,
    summary="Search transcripts: segments with highlights, context and a link to the second",
)
async def search_transcripts(
    principal: CurrentPrincipal,
    service: SearchServiceDep,
    q: Text = None,
    meeting_id: Annotated[str | None, Query(max_length=64)] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
    speaker: Annotated[str | None, Query(max_length=128)] = None,
    sort: Sort = "relevance",
    limit: SearchLimit = 20,
    offset: Offset = 0,
) -> TranscriptSearchOut:
    result = service.search_transcripts(
        principal.actor,
        q,
        meeting_id=meeting_id,
        language=language,
        speaker=speaker,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    results = []
    for hit in result.hits:
        source = hit.source
        start = float(source.get("start") or 0.0)
        results.append(
            TranscriptHitOut(
                id=hit.id,
                score=hit.score,
                meeting_id=source["meeting_id"],
                meeting_title=source.get("meeting_title") or "",
                recording_id=source["recording_id"],
                speaker=source.get("speaker") or "",
                language=source.get("language") or "",
                text=source.get("text") or "",
                highlight=(hit.highlights.get("text") or [source.get("text") or ""])[0],
                context_before=source.get("context_before") or "",
                context_after=source.get("context_after") or "",
                start=start,
                end=float(source.get("end") or 0.0),
                timestamp=_timestamp(start),
                recording_url=f"/api/v1/recordings/{source['recording_id']}?t={int(start)}",
            )
        )
    count_query(EntityType.TRANSCRIPT.value)
    return TranscriptSearchOut(total=result.total, limit=limit, offset=offset, results=results, facets=result.facets)


@router.get("/users", response_model=SearchOut, responses=ERRORS, summary="Find people (emails: admins only)")
async def search_users(
    principal: CurrentPrincipal,
    service: SearchServiceDep,
    q: Text = None,
    role: Annotated[Literal["admin", "teacher", "host", "participant"] | None, Query()] = None,
    is_active: bool | None = None,
    sort: Sort = "relevance",
    limit: SearchLimit = 20,
    offset: Offset = 0,
) -> SearchOut:
    result = service.search_users(
        principal.actor, q, role=role, is_active=is_active, sort=sort, limit=limit, offset=offset
    )
    count_query(EntityType.USER.value)
    return _out(EntityType.USER, result, limit, offset)


@router.get("/suggest", response_model=SuggestOut, responses=ERRORS, summary="Autocomplete as you type")
async def suggest(
    principal: CurrentPrincipal,
    service: SearchServiceDep,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    type: Annotated[Literal["meeting", "transcript", "user", "material"], Query()] = "meeting",
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> SuggestOut:
    return SuggestOut(suggestions=service.suggest(principal.actor, q, EntityType(type), limit=limit))


@admin_router.post(
    "/reindex",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IndexJobOut,
    responses=error_responses(401, 403, 422),
    summary="Rebuild one index from the tables (the alias swaps when done; searches go on meanwhile)",
)
async def reindex(body: ReindexIn, principal: AdminPrincipal, events: PublisherDep) -> IndexJobOut:
    job = request_reindex(body.entity_type, principal.actor.user_id)
    events.publish(
        DomainEvent.SEARCH_REINDEX_REQUESTED,
        {"entity_type": body.entity_type.value, "job_id": job.id, "requested_by": principal.actor.user_id},
    )
    return IndexJobOut.of(job)


@admin_router.get(
    "/jobs/{job_id}", response_model=IndexJobOut, responses=error_responses(401, 403, 404), summary="An index job"
)
async def index_job(job_id: Annotated[str, Path(max_length=64)], principal: AdminPrincipal) -> IndexJobOut:
    return IndexJobOut.of(jobs.index_job(job_id))


@admin_router.get(
    "/jobs",
    response_model=list[IndexJobOut],
    responses=error_responses(401, 403),
    summary="Index jobs in a status (failed ones first to look at)",
)
async def index_jobs(
    principal: AdminPrincipal,
    status_filter: Annotated[Literal["pending", "indexing", "indexed", "failed"], Query(alias="status")] = "failed",
    limit: SearchLimit = 50,
) -> list[IndexJobOut]:
    return [IndexJobOut.of(job) for job in jobs.index_jobs(status_filter, limit=limit)]
