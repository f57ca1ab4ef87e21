"""Reading index jobs (the admin API's view of reindex and per-document jobs)."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from agents_meetings.errors import NotFound
from agents_meetings.tables import SearchIndexJobModel


def index_job(job_id: str) -> SearchIndexJobModel:
    try:
        return SearchIndexJobModel.get(job_id)
    except DoesNotExist as exc:
        raise NotFound("Index job not found.", code="index_job_not_found") from exc


def index_jobs(status: str, *, limit: int) -> list[SearchIndexJobModel]:
    """Jobs in ``status``, newest first."""
    return list(SearchIndexJobModel.by_status.query(status, scan_index_forward=False, limit=limit))
