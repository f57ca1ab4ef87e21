"""Keeps the search indexes in step with the platform: domain events in, documents out.

Every change is indexed from the record as stored now (never from the event's copy), so a
duplicate or late event changes nothing and order does not matter. Each entity's outcome is kept
in ``search-index-jobs`` (indexing -> indexed | failed with the error); a failure is re-raised so
that the queue redelivers it (then the DLQ keeps it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import DoesNotExist

from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.materials.service import MaterialService
from agents_meetings.observability import logger
from agents_meetings.search.backend import SearchBackend
from agents_meetings.search.events import MEETING_EVENTS, USER_EVENTS
from agents_meetings.search.indexes import (
    INDEXES,
    EntityType,
    material_document,
    meeting_document,
    transcript_documents,
    user_document,
)
from agents_meetings.search.service import search_backend
from agents_meetings.storage import object_store
from agents_meetings.tables import (
    MaterialModel,
    MeetingModel,
    ParticipantModel,
    RecordingJobModel,
    SearchIndexJobModel,
    TranscriptionJobModel,
    UserModel,
)

JOB_NAMESPACE = uuid.UUID("6f1c7f0e-3c55-4f7e-9d3b-5a8e2b9c1d44")
REINDEX_ENTITY = "*"
# Meetings re-indexed per bulk write when a user's name changes.
RENAME_BATCH = 100


def job_id(entity_type: EntityType, entity_id: str) -> str:
    return str(uuid.uuid5(JOB_NAMESPACE, f"{entity_type.value}:{entity_id}"))


def storage_key(path: str) -> str:
    """The object key of ``s3://bucket/key`` or of a bare key."""
    if path.startswith("s3://"):
        return path.removeprefix("s3://").partition("/")[2]
    return path.lstrip("/")


class IndexingService:
    def __init__(self, backend: SearchBackend | None = None):
        self.backend = backend or search_backend()

    # --- events --------------------------------------------------------------------------

    def apply(self, detail_type: str, detail: dict[str, Any]) -> str | None:
        """Index what the event is about; returns the entity id (None: not ours)."""
        event = DomainEvent(detail_type)
        fields = {str(f) for f in detail.get("fields") or []}
        if event is DomainEvent.MEETING_UPDATED and "title" in fields:
            return self._tracked(EntityType.MEETING, detail["meeting_id"], self.index_renamed_meeting)
        if event in MEETING_EVENTS:
            return self._tracked(EntityType.MEETING, detail["meeting_id"], self.index_meeting)
        if event is DomainEvent.USER_PROFILE_UPDATED and "full_name" in fields:
            return self._tracked(EntityType.USER, detail["user_id"], self.index_renamed_user)
        if event in USER_EVENTS:
            return self._tracked(EntityType.USER, detail["user_id"], self.index_user)
        if event is DomainEvent.TRANSCRIPT_READY:
            key = f"{detail['recording_id']}:{detail['language']}"
            return self._tracked(EntityType.TRANSCRIPT, key, lambda _key: self.index_transcript(detail))
        if event is DomainEvent.MATERIAL_UPLOADED:
            return self._tracked(EntityType.MATERIAL, detail["material_id"], self.index_uploaded_material)
        if event is DomainEvent.MATERIAL_DELETED:
            self.backend.delete(INDEXES[EntityType.MATERIAL], [detail["material_id"]])
            return str(detail["material_id"])
        if event is DomainEvent.SEARCH_REINDEX_REQUESTED:
            return self.run_reindex(detail["job_id"], EntityType(detail["entity_type"]))
        return None

    def _tracked(self, entity_type: EntityType, entity_id: str, index: Any) -> str:
        job = _job(job_id(entity_type, entity_id), entity_type, entity_id)
        job.status, job.attempts, job.updated_at = "indexing", int(job.attempts or 0) + 1, utcnow()
        job.save()
        try:
            documents = index(entity_id)
        except Exception as exc:
            job.status, job.error_message, job.updated_at = "failed", f"{type(exc).__name__}: {exc}"[:1000], utcnow()
            job.save()
            raise
        now = utcnow()
        job.status, job.error_message, job.last_indexed_at, job.updated_at = "indexed", None, now, now
        job.documents = documents if isinstance(documents, int) else None
        job.save()
        return entity_id

    # --- one entity ----------------------------------------------------------------------

    def index_meeting(self, meeting_id: str) -> int:
        spec = INDEXES[EntityType.MEETING]
        try:
            meeting = MeetingModel.get(meeting_id)
        except DoesNotExist:
            self.backend.delete(spec, [meeting_id])
            return 0
        self.backend.upsert(spec, [self.meeting_document(meeting)])
        return 1

    def index_uploaded_material(self, material_id: str) -> int:
        """The upload's text, extracted by the materials package, indexed with its owner's name."""
        material = MaterialService().extract_upload(material_id)
        if material is None:
            return 0
        self.backend.upsert(INDEXES[EntityType.MATERIAL], [material_document(material, _full_name(material.owner_id))])
        return 1

    # --- renames: the denormalised copies of a title or a name (spec: current within 5 minutes) --

    def index_renamed_meeting(self, meeting_id: str) -> int:
        """The meeting, then its title on every transcript segment: one update-by-query, however
        many segments (the title is read from the table now, so redelivery and order are harmless)."""
        documents = self.index_meeting(meeting_id)
        try:
            title = str(MeetingModel.get(meeting_id).title)
        except DoesNotExist:
            return documents
        return documents + self.backend.update_matching(
            INDEXES[EntityType.TRANSCRIPT], "meeting_id", meeting_id, {"meeting_title": title}
        )

    def index_renamed_user(self, user_id: str) -> int:
        """The user, then every copy of their name: the meetings they host or attend (host name and
        participant names, rebuilt from the tables in batches) and their materials' owner name."""
        documents = self.index_user(user_id)
        try:
            name = str(UserModel.get(user_id).full_name)
        except DoesNotExist:
            return documents
        documents += self.backend.update_matching(
            INDEXES[EntityType.MATERIAL], "owner_id", user_id, {"owner_name": name}
        )
        attended = dict.fromkeys(p.meeting_id for p in ParticipantModel.by_user.query(user_id))
        hosted = dict.fromkeys(m.id for m in MeetingModel.by_host.query(user_id))
        meeting_ids = list({**attended, **hosted})
        spec = INDEXES[EntityType.MEETING]
        for start in range(0, len(meeting_ids), RENAME_BATCH):
            meetings = list(MeetingModel.batch_get(meeting_ids[start : start + RENAME_BATCH]))
            batch = [self.meeting_document(meeting) for meeting in meetings]
            self.backend.upsert(spec, batch)
            documents += len(batch)
        return documents

    @staticmethod
    def meeting_document(meeting: MeetingModel) -> dict[str, Any]:
        participant_ids = [p.user_id for p in ParticipantModel.query(meeting.id)]
        names = {u.id: u.full_name for u in UserModel.batch_get(list({*participant_ids, meeting.host_id}))}
        return meeting_document(meeting, names.get(meeting.host_id), [(uid, names.get(uid)) for uid in participant_ids])

    def index_user(self, user_id: str) -> int:
        try:
            user = UserModel.get(user_id)
        except DoesNotExist:
            self.backend.delete(INDEXES[EntityType.USER], [user_id])
            return 0
        self.backend.upsert(INDEXES[EntityType.USER], [user_document(user)])
        return 1

    def index_transcript(self, detail: dict[str, Any]) -> int:
        documents = self.transcript_documents(
            str(detail["recording_id"]), str(detail["meeting_id"]), str(detail["storage_path"])
        )
        self.backend.upsert(INDEXES[EntityType.TRANSCRIPT], documents)
        return len(documents)

    @staticmethod
    def transcript_documents(recording_id: str, meeting_id: str, storage_path: str) -> list[dict[str, Any]]:
        transcript = json.loads(object_store().get_bytes(storage_key(storage_path)))
        try:
            meeting = MeetingModel.get(meeting_id)
            title, recorded_at = meeting.title, isoformat_z(meeting.started_at or meeting.scheduled_at)
        except DoesNotExist:
            title, recorded_at = "", None
        try:
            recording = RecordingJobModel.get(recording_id)
            recorded_at = isoformat_z(recording.started_at) or recorded_at
        except DoesNotExist:
            pass
        return transcript_documents(
            transcript, recording_id=recording_id, meeting_id=meeting_id, meeting_title=title, recorded_at=recorded_at
        )

    # --- full reindex --------------------------------------------------------------------

    def run_reindex(self, reindex_job_id: str, entity_type: EntityType) -> str:
        job = SearchIndexJobModel.get(reindex_job_id)
        if job.status == "indexed":
            return reindex_job_id  # a redelivered request: done already
        job.update(
            actions=[
                SearchIndexJobModel.status.set("indexing"),
                SearchIndexJobModel.attempts.set(int(job.attempts or 0) + 1),
                SearchIndexJobModel.updated_at.set(utcnow()),
            ]
        )
        try:
            count = self.backend.reindex(INDEXES[entity_type], self.walk(entity_type))
        except Exception as exc:
            job.update(
                actions=[
                    SearchIndexJobModel.status.set("failed"),
                    SearchIndexJobModel.error_message.set(f"{type(exc).__name__}: {exc}"[:1000]),
                    SearchIndexJobModel.updated_at.set(utcnow()),
                ]
            )
            raise
        now = utcnow()
        job.update(
            actions=[
                SearchIndexJobModel.status.set("indexed"),
                SearchIndexJobModel.documents.set(count),
                SearchIndexJobModel.last_indexed_at.set(now),
                SearchIndexJobModel.error_message.remove(),
                SearchIndexJobModel.updated_at.set(now),
            ]
        )
        logger.info("search reindex done", extra={"entity_type": entity_type.value, "documents": count})
        return reindex_job_id

    def walk(self, entity_type: EntityType) -> Iterator[dict[str, Any]]:
        """Every document of an index, from the tables (a full reindex's source)."""
        if entity_type is EntityType.MEETING:
            for meeting in MeetingModel.scan():
                yield self.meeting_document(meeting)
        elif entity_type is EntityType.USER:
            for user in UserModel.scan():
                yield user_document(user)
        elif entity_type is EntityType.TRANSCRIPT:
            for transcription in TranscriptionJobModel.by_status.query("completed"):
                if not transcription.storage_path:
                    continue
                try:
                    recording = RecordingJobModel.get(transcription.recording_job_id)
                except DoesNotExist:
                    continue
                yield from self.transcript_documents(recording.id, recording.meeting_id, transcription.storage_path)
        else:
            owners: dict[str, str] = {}
            for material in MaterialModel.scan():
                if material.status != "ready":
                    continue
                if material.owner_id not in owners:
                    owners[material.owner_id] = _full_name(material.owner_id)
                yield material_document(material, owners[material.owner_id])


def _full_name(user_id: str) -> str:
    try:
        return str(UserModel.get(user_id).full_name)
    except DoesNotExist:
        return ""


def _job(job_key: str, entity_type: EntityType, entity_id: str) -> SearchIndexJobModel:
    try:
        return SearchIndexJobModel.get(job_key)
    except DoesNotExist:
        now = utcnow()
        return SearchIndexJobModel(
            id=job_key,
            entity_type=entity_type.value,
            entity_id=entity_id,
            status="pending",
            attempts=0,
            created_at=now,
            updated_at=now,
        )


def request_reindex(entity_type: EntityType, requested_by: str) -> SearchIndexJobModel:
    now = utcnow()
    job = SearchIndexJobModel(
        id=str(uuid.uuid4()),
        entity_type=entity_type.value,
        entity_id=REINDEX_ENTITY,
        status="pending",
        attempts=0,
        requested_by=requested_by,
        created_at=now,
        updated_at=now,
    )
    job.save()
    return job
