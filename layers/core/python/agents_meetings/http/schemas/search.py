"""Bodies of /api/v1/search and /api/v1/admin/search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    Field,
)

from agents_meetings.clock import isoformat_z
from agents_meetings.search.indexes import EntityType

if TYPE_CHECKING:
    from agents_meetings.tables import SearchIndexJobModel


class HitOut(BaseModel):
    type: EntityType
    id: str
    score: float
    highlights: dict[str, list[str]] = Field(description="field -> fragments with <mark>matches</mark>")
    document: dict[str, Any]


class SearchOut(BaseModel):
    total: int
    limit: int
    offset: int
    results: list[HitOut]
    facets: dict[str, dict[str, int]]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "total": 1,
                    "limit": 20,
                    "offset": 0,
                    "results": [
                        {
                            "type": "meeting",
                            "id": "0b7c...",
                            "score": 4.2,
                            "highlights": {"title": ["<mark>Algebra</mark> 101"]},
                            "document": {"title": "Algebra 101", "status": "scheduled"},
                        }
                    ],
                    "facets": {"status": {"scheduled": 1}},
                }
            ]
        }
    }


class TranscriptHitOut(BaseModel):
    id: str
    score: float
    meeting_id: str
    meeting_title: str
    recording_id: str
    speaker: str
    language: str
    text: str
    highlight: str = Field(description="the segment with <mark>matches</mark>")
    context_before: str
    context_after: str
    start: float = Field(description="seconds from the recording's start")
    end: float
    timestamp: str = Field(description="start as H:MM:SS")
    recording_url: str = Field(description="opens the recording at this second")


class TranscriptSearchOut(BaseModel):
    total: int
    limit: int
    offset: int
    results: list[TranscriptHitOut]
    facets: dict[str, dict[str, int]]


class SuggestOut(BaseModel):
    suggestions: list[str]


class ReindexIn(BaseModel):
    entity_type: EntityType

    model_config = {"json_schema_extra": {"examples": [{"entity_type": "meeting"}]}}


class IndexJobOut(BaseModel):
    id: str
    entity_type: str
    entity_id: str
    status: str
    documents: int | None
    attempts: int
    error_message: str | None
    last_indexed_at: str | None
    created_at: str | None

    @classmethod
    def of(cls, job: SearchIndexJobModel) -> IndexJobOut:
        return cls(
            id=job.id,
            entity_type=job.entity_type,
            entity_id=job.entity_id,
            status=job.status,
            documents=int(job.documents) if job.documents is not None else None,
            attempts=int(job.attempts or 0),
            error_message=job.error_message,
            last_indexed_at=isoformat_z(job.last_indexed_at),
            created_at=isoformat_z(job.created_at),
        )
