"""Egress progress: what LiveKit reports about a recording's egresses (webhooks, or reconcile
when a webhook never comes) and the hand-over to post-processing.

When every egress of a recording has ended the job becomes ``processing``, each track's file path
and size are filled, and the manifest (``enums.manifest_key``) is written: that object starts the
pipeline. If every egress failed the job is ``failed`` and no manifest is written. Every transition
is a conditional update, so a webhook delivered twice or a reconcile racing a webhook changes
nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from agents_meetings.clock import utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.observability import logger
from agents_meetings.recordings.egress import EgressClient, EgressError, EgressSnapshot
from agents_meetings.recordings.enums import EgressState, RecordingStatus, manifest_key
from agents_meetings.recordings.jobs import (
    LIVE_EGRESS_STATES,
    abandon_start,
    find_job,
    find_meeting,
    release_meeting,
    track_order,
    tracks_of,
)
from agents_meetings.settings import get_settings
from agents_meetings.storage import ObjectStore, object_store
from agents_meetings.tables import RecordingJobModel, RecordingTrackModel

# A processing job whose manifest is still missing this long after the switch is re-written by reconcile.
MANIFEST_RETRY_AFTER = timedelta(minutes=2)


@dataclass
class ReconcileReport:
    jobs_checked: int = 0
    tracks_finished: int = 0
    jobs_finalised: int = 0
    manifests_rewritten: int = 0
    errors: list[str] = field(default_factory=list)


class EgressProgress:
    def __init__(self, events: EventPublisher, *, egress: EgressClient, store: ObjectStore | None = None):
        self._events = events
        self._egress = egress
        self._store = store

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            self._store = object_store()
        return self._store

    def handle_egress_update(self, snapshot: EgressSnapshot) -> str:
        """Apply what LiveKit reports about one egress (egress_started/updated/ended webhooks).

        Returns what happened: ``unknown_egress``, ``updated``, ``finished`` or ``duplicate``."""
        track = next(iter(RecordingTrackModel.by_egress.query(snapshot.egress_id, limit=1)), None)
        if track is None:
            return "unknown_egress"
        if not snapshot.state.terminal:
            try:
                track.update(
                    actions=[RecordingTrackModel.egress_status.set(snapshot.state.value)],
                    condition=RecordingTrackModel.egress_status.is_in(*LIVE_EGRESS_STATES)
                    & (RecordingTrackModel.egress_status != snapshot.state.value),
                )
            except UpdateError as exc:
                if is_condition_failure(exc):
                    return "duplicate"
                raise
            return "updated"
        finished = self.finish_track(track, snapshot)
        self.maybe_finalise(track.recording_job_id)
        return "finished" if finished else "duplicate"

    def reconcile(self) -> ReconcileReport:
        """Finish what webhooks did not: egresses that ended without ``egress_ended`` (LiveKit
        sometimes never sends it), starts that crashed half-way, manifests whose write failed."""
        report = ReconcileReport()
        settings = get_settings()
        now = utcnow()
        grace = timedelta(seconds=settings.recording_stop_grace_seconds)
        for job in list(RecordingJobModel.by_status.query(RecordingStatus.RECORDING.value)):
            report.jobs_checked += 1
            try:
                report.tracks_finished += self._reconcile_job(job, now, grace)
                if self.maybe_finalise(job.id):
                    report.jobs_finalised += 1
            except EgressError as exc:
                report.errors.append(f"{job.id}: {exc}")
        for job in list(RecordingJobModel.by_status.query(RecordingStatus.PENDING.value)):
            if job.started_at < now - grace:
                report.jobs_checked += 1
                meeting = find_meeting(job.meeting_id)
                if meeting is not None:
                    abandon_start(self._egress, meeting, job, "the start never completed")
                    report.jobs_finalised += 1
        for job in list(RecordingJobModel.by_status.query(RecordingStatus.PROCESSING.value)):
            if job.manifest_path is None and (job.updated_at or job.started_at) < now - MANIFEST_RETRY_AFTER:
                self._write_manifest(job, tracks_of(job.id))
                report.manifests_rewritten += 1
        return report

    def _reconcile_job(self, job: RecordingJobModel, now: datetime, grace: timedelta) -> int:
        finished = 0
        for track in tracks_of(job.id):
            if track.egress_status not in LIVE_EGRESS_STATES:
                continue
            snapshot = None
            if track.egress_id:
                found = self._egress.list_egress(egress_id=track.egress_id)
                snapshot = next((s for s in found if s.egress_id == track.egress_id), None)
            if snapshot is not None and snapshot.state.terminal:
                finished += int(self.finish_track(track, snapshot))
            elif snapshot is None and job.stopped_at is not None and job.stopped_at < now - grace:
                lost = EgressSnapshot(
                    egress_id=track.egress_id or "",
                    room_name="",
                    state=EgressState.FAILED,
                    error="LiveKit no longer knows this egress",
                )
                finished += int(self.finish_track(track, lost))
        return finished

    def finish_track(self, track: RecordingTrackModel, snapshot: EgressSnapshot) -> bool:
        """Record an egress's end on its track, once; False if it was already recorded."""
        now = utcnow()
        actions: list[Any] = [
            RecordingTrackModel.egress_status.set(snapshot.state.value),
            RecordingTrackModel.ended_at.set(now),
        ]
        result = snapshot.files[0] if snapshot.files else None
        if result is not None and result.key:
            actions.append(RecordingTrackModel.file_path.set(result.key))
        if result is not None and result.size:
            actions.append(RecordingTrackModel.file_size_bytes.set(result.size))
        if result is not None and result.duration_seconds:
            actions.append(RecordingTrackModel.duration_seconds.set(round(result.duration_seconds, 3)))
        if snapshot.error:
            actions.append(RecordingTrackModel.error_message.set(snapshot.error[:1000]))
        try:
            track.update(actions=actions, condition=RecordingTrackModel.egress_status.is_in(*LIVE_EGRESS_STATES))
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def maybe_finalise(self, job_id: str) -> bool:
        """Once every egress of a recording has ended: processing + manifest, or failed."""
        job = find_job(job_id)
        if job is None or job.status != RecordingStatus.RECORDING.value:
            return False
        tracks = tracks_of(job_id)
        if any(track.egress_status in LIVE_EGRESS_STATES for track in tracks):
            return False
        for track in tracks:
            if track.egress_status == EgressState.COMPLETE.value and not track.file_size_bytes:
                stored = self.store.head(track.file_path)
                if stored is None:
                    track.update(
                        actions=[
                            RecordingTrackModel.egress_status.set(EgressState.FAILED.value),
                            RecordingTrackModel.error_message.set("egress reported success but wrote no file"),
                        ]
                    )
                else:
                    track.update(actions=[RecordingTrackModel.file_size_bytes.set(stored.size)])
        complete = [track for track in tracks if track.egress_status == EgressState.COMPLETE.value]
        now = utcnow()
        if not complete:
            reasons = sorted({track.error_message or "egress failed" for track in tracks})
            message = "; ".join(reasons)[:1000] or "no egress produced a file"
            if not self._transition(
                job,
                RecordingStatus.FAILED,
                [
                    RecordingJobModel.error_message.set(message),
                    RecordingJobModel.completed_at.set(now),
                ],
            ):
                return False
            release_meeting(job.meeting_id, job.id)
            self._events.publish(
                DomainEvent.RECORDING_FAILED,
                {"recording_id": job.id, "meeting_id": job.meeting_id, "error_message": message},
            )
            return True
        if not self._transition(job, RecordingStatus.PROCESSING, []):
            return False
        release_meeting(job.meeting_id, job.id)
        self._write_manifest(job, complete)
        return True

    def _transition(self, job: RecordingJobModel, status: RecordingStatus, actions: list[Any]) -> bool:
        try:
            job.update(
                actions=[
                    RecordingJobModel.status.set(status.value),
                    RecordingJobModel.updated_at.set(utcnow()),
                    RecordingJobModel.version.add(1),
                    *actions,
                ],
                condition=RecordingJobModel.status == RecordingStatus.RECORDING.value,
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False  # another webhook or reconcile got there first
            raise
        return True

    def _write_manifest(self, job: RecordingJobModel, tracks: Iterable[RecordingTrackModel]) -> None:
        complete = [track for track in tracks if track.egress_status == EgressState.COMPLETE.value]
        manifest = manifest_document(job, complete)
        key = manifest_key(job.id)
        self.store.put_bytes(key, json.dumps(manifest, indent=2).encode(), content_type="application/json")
        job.update(actions=[RecordingJobModel.manifest_path.set(key)])
        logger.info("recording handed to post-processing", extra={"recording_id": job.id, "tracks": len(complete)})


def manifest_document(job: RecordingJobModel, tracks: Iterable[RecordingTrackModel]) -> dict[str, Any]:
    """The pipeline's input: what was recorded and where each raw file is."""
    return {
        "recording_id": job.id,
        "meeting_id": job.meeting_id,
        "output_format": job.output_format,
        "languages": list(job.languages or []),
        "tracks": [
            {
                "id": track.id,
                "track_type": track.track_type,
                "language": track.language,
                "participant_identity": track.participant_identity,
                "file_path": track.file_path,
                "file_size_bytes": int(track.file_size_bytes or 0),
            }
            for track in sorted(tracks, key=track_order)
        ],
    }
