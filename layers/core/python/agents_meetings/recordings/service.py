"""RecordingService: the recordings package's one entry point for the API and the workers.

It reads recordings itself and hands the rest on: starting and stopping to recording control
(``control.py``), egress webhooks, reconcile and the pipeline manifest to egress progress
(``progress.py``). Both share one egress client and one object store.
"""

from __future__ import annotations

from typing import Any

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.meetings.service import MeetingService
from agents_meetings.pagination import Page, decode_cursor, encode_cursor, index_key_names, paginate
from agents_meetings.recordings.access import readable_recording
from agents_meetings.recordings.control import RecordingControl, RecordingDetails, RecordingOptions
from agents_meetings.recordings.egress import EgressClient, EgressSnapshot
from agents_meetings.recordings.jobs import tracks_of
from agents_meetings.recordings.progress import EgressProgress, ReconcileReport, manifest_document
from agents_meetings.storage import ObjectStore
from agents_meetings.tables import RecordingJobModel

__all__ = [
    "ReconcileReport",
    "RecordingDetails",
    "RecordingOptions",
    "RecordingService",
    "manifest_document",
    "tracks_of",
]


class RecordingService:
    def __init__(
        self,
        events: EventPublisher,
        *,
        meetings: MeetingService | None = None,
        egress: EgressClient | None = None,
        store: ObjectStore | None = None,
        audit: AuditLog | None = None,
    ):
        self._meetings = meetings or MeetingService(events)
        egress = egress or EgressClient()
        self.progress = EgressProgress(events, egress=egress, store=store)
        self.control = RecordingControl(
            events, meetings=self._meetings, egress=egress, audit=audit or AuditLog(), progress=self.progress
        )

    @property
    def store(self) -> ObjectStore:
        return self.progress.store

    # --- control ------------------------------------------------------------------------------

    def start_recording(self, actor: Actor, meeting_id: str, options: RecordingOptions) -> RecordingDetails:
        return self.control.start_recording(actor, meeting_id, options)

    def stop_recording(self, actor: Actor, meeting_id: str) -> RecordingJobModel:
        return self.control.stop_recording(actor, meeting_id)

    def start_for_meeting(self, meeting_id: str) -> RecordingJobModel | None:
        return self.control.start_for_meeting(meeting_id)

    def stop_for_meeting(self, meeting_id: str) -> RecordingJobModel | None:
        return self.control.stop_for_meeting(meeting_id)

    # --- egress progress ----------------------------------------------------------------------

    def handle_egress_update(self, snapshot: EgressSnapshot) -> str:
        return self.progress.handle_egress_update(snapshot)

    def reconcile(self) -> ReconcileReport:
        return self.progress.reconcile()

    # --- reads --------------------------------------------------------------------------------

    def get_recording_status(self, actor: Actor, recording_id: str) -> RecordingDetails:
        job, _ = readable_recording(actor, recording_id, self._meetings)
        return RecordingDetails(job=job, tracks=tracks_of(job.id))

    def list_meeting_recordings(
        self, actor: Actor, meeting_id: str, *, limit: int, cursor: str | None
    ) -> Page[RecordingJobModel]:
        """A meeting's recordings, newest first (whoever may see the meeting; deleted ones hidden)."""
        self._meetings.get_visible(actor, meeting_id)
        key_names = index_key_names(RecordingJobModel, "by_meeting")

        def run(start: dict[str, Any] | None) -> Any:
            return RecordingJobModel.by_meeting.query(meeting_id, scan_index_forward=False, last_evaluated_key=start)

        items, last = paginate(
            run,
            key_names=key_names,
            limit=limit,
            cursor_key=decode_cursor(cursor),
            keep=lambda job: job.deleted_at is None,
        )
        return Page(items, encode_cursor(last) if last else None)
