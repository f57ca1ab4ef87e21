"""RecordingService: start and stop a meeting's recording through LiveKit Egress, follow its
egresses (webhooks, or reconcile when a webhook never comes) and hand the files to post-processing.

A recording is one job and one track per egress: the room composite (MP4 or WebM), an audio-only
output per meeting language (tagged with it), and optionally each participant's camera and every
screen share. When every egress has ended the job becomes ``processing``, each track's file path
and size are filled, and ``recordings/{id}/manifest.json`` is written: that object starts the
pipeline. If every egress failed the job is ``failed`` and no manifest is written.

One recording per meeting at a time: the meeting's ``recording_id`` is claimed conditionally in
the same transaction that creates the job. Every transition is a conditional update, so a webhook
delivered twice, a reconcile racing a webhook, or a redelivered event changes nothing twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.errors import Conflict, Forbidden, ServiceUnavailable
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.meetings.service import MeetingService, MeetingStatus
from agents_meetings.observability import logger
from agents_meetings.pagination import Page, decode_cursor, encode_cursor, index_key_names, paginate
from agents_meetings.recordings.egress import (
    EgressClient,
    EgressError,
    EgressRequest,
    EgressSnapshot,
    FileExtension,
    RoomTrack,
)
from agents_meetings.recordings.enums import (
    EgressState,
    OutputFormat,
    RecordingStatus,
    TrackType,
    manifest_key,
    raw_track_key,
)
from agents_meetings.settings import get_settings
from agents_meetings.storage import ObjectStore, object_store
from agents_meetings.tables import MeetingModel, RecordingJobModel, RecordingTrackModel, transaction_connection

LIVE_EGRESS_STATES = (EgressState.STARTING.value, EgressState.ACTIVE.value, EgressState.ENDING.value)
# A processing job whose manifest is still missing this long after the switch is re-written by reconcile.
MANIFEST_RETRY_AFTER = timedelta(minutes=2)
AUTO_RECORDER = "auto-record"


@dataclass(frozen=True)
class RecordingOptions:
    format: OutputFormat = OutputFormat.MP4
    include_audio_tracks: bool = True
    include_screen_share: bool = True
    include_participant_tracks: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format.value,
            "include_audio_tracks": self.include_audio_tracks,
            "include_screen_share": self.include_screen_share,
            "include_participant_tracks": self.include_participant_tracks,
        }


@dataclass(frozen=True)
class RecordingDetails:
    job: RecordingJobModel
    tracks: list[RecordingTrackModel]


@dataclass
class ReconcileReport:
    jobs_checked: int = 0
    tracks_finished: int = 0
    jobs_finalised: int = 0
    manifests_rewritten: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _PlannedTrack:
    track: RecordingTrackModel
    request: EgressRequest


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
        self._events = events
        self._meetings = meetings or MeetingService(events)
        self._egress = egress or EgressClient()
        self._store = store
        self._audit = audit or AuditLog()

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            self._store = object_store()
        return self._store

    # --- start and stop -----------------------------------------------------------------------

    def start_recording(self, actor: Actor, meeting_id: str, options: RecordingOptions) -> RecordingDetails:
        """Start recording a live meeting (its host, teacher or an admin). 409 if it is not live or
        already recording; 503 (nothing kept) if LiveKit cannot start the room composite."""
        meeting = self._organised(actor, meeting_id)
        return self._start(meeting, options, started_by=actor.user_id, actor=actor)

    def stop_recording(self, actor: Actor, meeting_id: str) -> RecordingJobModel:
        meeting = self._organised(actor, meeting_id)
        return self._stop(meeting, stopped_by=actor.user_id, actor=actor)

    def start_for_meeting(self, meeting_id: str) -> RecordingJobModel | None:
        """Auto-record on MeetingStarted: start unless the meeting is no longer live, does not want
        auto-recording, or already records (a redelivered event starts nothing)."""
        meeting = _meeting(meeting_id)
        if meeting is None or not meeting.auto_record or meeting.status != MeetingStatus.ACTIVE.value:
            return None
        if meeting.recording_id:
            return None
        try:
            return self._start(meeting, RecordingOptions(), started_by=AUTO_RECORDER, actor=None).job
        except Conflict:
            return None  # started meanwhile, or the meeting ended: nothing to do

    def stop_for_meeting(self, meeting_id: str) -> RecordingJobModel | None:
        """On MeetingEnded: stop whatever records the meeting (a recording cannot outlive it)."""
        meeting = _meeting(meeting_id)
        if meeting is None or not meeting.recording_id:
            return None
        try:
            return self._stop(meeting, stopped_by=AUTO_RECORDER, actor=None)
        except Conflict:
            return None

    def _start(
        self, meeting: MeetingModel, options: RecordingOptions, *, started_by: str, actor: Actor | None
    ) -> RecordingDetails:
        if meeting.status != MeetingStatus.ACTIVE.value:
            raise Conflict(
                f"Only a live meeting can be recorded; this one is {meeting.status}.",
                code="meeting_not_live",
                details={"status": meeting.status},
            )
        if meeting.recording_id:
            raise _already_recording(meeting.recording_id)
        now = utcnow()
        job = RecordingJobModel(
            id=str(uuid.uuid4()),
            meeting_id=meeting.id,
            status=RecordingStatus.PENDING.value,
            output_format=options.format.value,
            started_at=now,
            started_by=started_by,
            options=options.as_dict(),
            meeting_type=meeting.meeting_type,
            languages=list(meeting.languages),
            updated_at=now,
            version=1,
        )
        self._claim(meeting, job)
        try:
            planned = self._plan(meeting, job, options)
            for item in planned:
                item.track.save()
            started = self._start_egresses(job, planned)
        except Exception as exc:
            self._abandon(meeting, job, str(exc))
            if isinstance(exc, EgressError):
                raise ServiceUnavailable(
                    "LiveKit could not start the recording; try again shortly.",
                    code="egress_unavailable",
                    retry_after_seconds=5,
                    details={"reason": str(exc)},
                ) from exc
            raise
        composite = started[0]
        job.update(
            actions=[
                RecordingJobModel.status.set(RecordingStatus.RECORDING.value),
                RecordingJobModel.egress_id.set(composite.egress_id),
                RecordingJobModel.updated_at.set(utcnow()),
            ]
        )
        if actor is not None:
            self._audit.record(actor, "recording.started", "recording", job.id, {"meeting_id": meeting.id})
        self._events.publish(
            DomainEvent.RECORDING_STARTED,
            {
                "recording_id": job.id,
                "meeting_id": meeting.id,
                "host_id": meeting.host_id,
                "started_by": started_by,
                "output_format": job.output_format,
                "languages": list(job.languages),
                "started_at": isoformat_z(now),
                "tracks": len(planned),
            },
        )
        return RecordingDetails(job=job, tracks=[item.track for item in planned])

    def _claim(self, meeting: MeetingModel, job: RecordingJobModel) -> None:
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.update(
                    meeting,
                    actions=[MeetingModel.recording_id.set(job.id)],
                    condition=MeetingModel.recording_id.does_not_exist()
                    & (MeetingModel.status == MeetingStatus.ACTIVE.value),
                )
                transaction.save(job, condition=RecordingJobModel.id.does_not_exist())
        except TransactWriteError as exc:
            if "ConditionalCheckFailed" not in str(exc.cause_response_message) + str(exc.cause_response_code):
                raise
            current = _meeting(meeting.id)
            if current is None or current.status != MeetingStatus.ACTIVE.value:
                raise Conflict("Only a live meeting can be recorded.", code="meeting_not_live") from exc
            raise _already_recording(current.recording_id) from exc

    def _plan(self, meeting: MeetingModel, job: RecordingJobModel, options: RecordingOptions) -> list[_PlannedTrack]:
        """Every egress of the recording, room composite first."""
        extension: FileExtension = "webm" if options.format == OutputFormat.WEBM else "mp4"
        languages = [str(code) for code in meeting.languages]
        planned: list[_PlannedTrack] = []

        def add(
            track_type: TrackType,
            ext: FileExtension,
            *,
            language: str | None = None,
            identity: str | None = None,
            **request: Any,
        ) -> None:
            track_id = str(uuid.uuid4())
            key = raw_track_key(job.id, track_id, ext)
            track = RecordingTrackModel(
                id=track_id,
                recording_job_id=job.id,
                track_type=track_type.value,
                language=language,
                participant_identity=identity,
                file_path=key,
                file_size_bytes=0,
                egress_status=EgressState.STARTING.value,
            )
            metadata = {"recording_id": job.id, "track_id": track_id, "track_type": track_type.value}
            if language:
                metadata["language"] = language
            elif track_type == TrackType.COMPOSITE and identity is None:
                metadata["languages"] = ",".join(languages)
            planned.append(
                _PlannedTrack(
                    track,
                    EgressRequest(
                        room_name=meeting.room_name, file_key=key, extension=ext, metadata=metadata, **request
                    ),
                )
            )

        add(TrackType.COMPOSITE, extension, kind="room_composite")
        room_tracks: list[RoomTrack] = []
        if options.include_participant_tracks or options.include_screen_share or options.include_audio_tracks:
            try:
                room_tracks = self._egress.room_tracks(meeting.room_name)
            except EgressError as exc:
                logger.warning("room tracks unavailable", extra={"meeting_id": meeting.id, "reason": str(exc)})
        if options.include_audio_tracks:
            channels = {track.language: track for track in room_tracks if track.language}
            for language in languages:
                channel = channels.get(language)
                if channel is not None:  # an interpretation channel: record exactly that audio
                    add(
                        TrackType.AUDIO_ONLY,
                        "ogg",
                        language=language,
                        kind="track_composite",
                        audio_track_id=channel.track_id,
                    )
                else:  # the room's mixed audio, tagged with the language
                    add(TrackType.AUDIO_ONLY, "ogg", language=language, kind="room_composite", audio_only=True)
        if options.include_participant_tracks:
            by_identity: dict[str, dict[str, RoomTrack]] = {}
            for track in room_tracks:
                if track.source in ("camera", "microphone") and not track.language:
                    by_identity.setdefault(track.participant_identity, {})[track.kind] = track
            for identity, tracks in sorted(by_identity.items()):
                audio, video = tracks.get("audio"), tracks.get("video")
                add(
                    TrackType.COMPOSITE if video else TrackType.AUDIO_ONLY,
                    extension if video else "ogg",
                    identity=identity,
                    kind="track_composite",
                    audio_track_id=audio.track_id if audio else None,
                    video_track_id=video.track_id if video else None,
                )
        if options.include_screen_share:
            for track in room_tracks:
                if track.source == "screen_share" and track.kind == "video":
                    add(
                        TrackType.SCREEN_SHARE,
                        "webm",
                        identity=track.participant_identity,
                        kind="track",
                        track_id=track.track_id,
                    )
        return planned

    def _start_egresses(self, job: RecordingJobModel, planned: list[_PlannedTrack]) -> list[EgressSnapshot]:
        """Start each egress; the room composite must start, any other may fail (recorded on its track)."""
        started: list[EgressSnapshot] = []
        for position, item in enumerate(planned):
            try:
                snapshot = self._egress.start(item.request)
            except EgressError as exc:
                if position == 0:
                    raise
                logger.warning("egress did not start", extra={"recording_id": job.id, "reason": str(exc)})
                item.track.update(
                    actions=[
                        RecordingTrackModel.egress_status.set(EgressState.FAILED.value),
                        RecordingTrackModel.error_message.set(f"did not start: {exc}"),
                        RecordingTrackModel.ended_at.set(utcnow()),
                    ]
                )
                continue
            item.track.update(
                actions=[
                    RecordingTrackModel.egress_id.set(snapshot.egress_id),
                    RecordingTrackModel.started_at.set(utcnow()),
                ]
            )
            started.append(snapshot)
        return started

    def _abandon(self, meeting: MeetingModel, job: RecordingJobModel, reason: str) -> None:
        """The start failed: stop what did start, fail the job and free the meeting."""
        for track in RecordingTrackModel.by_job.query(job.id):
            if track.egress_id:
                try:
                    self._egress.stop(track.egress_id)
                except EgressError:
                    logger.warning("could not stop an egress of an abandoned start", extra={"recording_id": job.id})
        job.update(
            actions=[
                RecordingJobModel.status.set(RecordingStatus.FAILED.value),
                RecordingJobModel.error_message.set(f"could not start: {reason}"[:1000]),
                RecordingJobModel.completed_at.set(utcnow()),
                RecordingJobModel.updated_at.set(utcnow()),
            ]
        )
        _release(meeting.id, job.id)

    def _stop(self, meeting: MeetingModel, *, stopped_by: str, actor: Actor | None) -> RecordingJobModel:
        if not meeting.recording_id:
            raise Conflict("This meeting is not being recorded.", code="not_recording")
        job = _job(meeting.recording_id)
        if job is None:
            _release(meeting.id, meeting.recording_id)
            raise Conflict("This meeting is not being recorded.", code="not_recording")
        unreachable = []
        for track in RecordingTrackModel.by_job.query(job.id):
            if not track.egress_id or track.egress_status not in LIVE_EGRESS_STATES:
                continue
            try:
                snapshot = self._egress.stop(track.egress_id)
            except EgressError as exc:
                if exc.not_found or exc.code == "failed_precondition":
                    continue  # it ended on its own; its webhook (or reconcile) finishes the track
                unreachable.append(str(exc))
                continue
            if snapshot.state.terminal:
                self._finish_track(track, snapshot)
        if unreachable:
            raise ServiceUnavailable(
                "LiveKit could not stop every output of the recording; try again.",
                code="egress_unavailable",
                retry_after_seconds=5,
                details={"reasons": unreachable[:5]},
            )
        now = utcnow()
        try:
            job.update(
                actions=[
                    RecordingJobModel.stopped_at.set(now),
                    RecordingJobModel.stopped_by.set(stopped_by),
                    RecordingJobModel.updated_at.set(now),
                ],
                condition=RecordingJobModel.stopped_at.does_not_exist(),
            )
        except UpdateError as exc:
            if not _is_condition_failure(exc):
                raise
        _release(meeting.id, job.id)
        if actor is not None:
            self._audit.record(actor, "recording.stopped", "recording", job.id, {"meeting_id": meeting.id})
        self._events.publish(
            DomainEvent.RECORDING_STOPPED,
            {
                "recording_id": job.id,
                "meeting_id": meeting.id,
                "host_id": meeting.host_id,
                "stopped_by": stopped_by,
                "stopped_at": isoformat_z(now),
            },
        )
        self._maybe_finalise(job.id)
        return RecordingJobModel.get(job.id)

    # --- reads --------------------------------------------------------------------------------

    def get_recording_status(self, actor: Actor, recording_id: str) -> RecordingDetails:
        from agents_meetings.recordings.access import readable_recording

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

    # --- egress progress: webhooks and reconcile ---------------------------------------------

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
                if _is_condition_failure(exc):
                    return "duplicate"
                raise
            return "updated"
        finished = self._finish_track(track, snapshot)
        self._maybe_finalise(track.recording_job_id)
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
                if self._maybe_finalise(job.id):
                    report.jobs_finalised += 1
            except EgressError as exc:
                report.errors.append(f"{job.id}: {exc}")
        for job in list(RecordingJobModel.by_status.query(RecordingStatus.PENDING.value)):
            if job.started_at < now - grace:
                report.jobs_checked += 1
                meeting = _meeting(job.meeting_id)
                if meeting is not None:
                    self._abandon(meeting, job, "the start never completed")
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
                finished += int(self._finish_track(track, snapshot))
            elif snapshot is None and job.stopped_at is not None and job.stopped_at < now - grace:
                lost = EgressSnapshot(
                    egress_id=track.egress_id or "",
                    room_name="",
                    state=EgressState.FAILED,
                    error="LiveKit no longer knows this egress",
                )
                finished += int(self._finish_track(track, lost))
        return finished

    def _finish_track(self, track: RecordingTrackModel, snapshot: EgressSnapshot) -> bool:
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
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def _maybe_finalise(self, job_id: str) -> bool:
        """Once every egress of a recording has ended: processing + manifest, or failed."""
        job = _job(job_id)
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
            _release(job.meeting_id, job.id)
            self._events.publish(
                DomainEvent.RECORDING_FAILED,
                {"recording_id": job.id, "meeting_id": job.meeting_id, "error_message": message},
            )
            return True
        if not self._transition(job, RecordingStatus.PROCESSING, []):
            return False
        _release(job.meeting_id, job.id)
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
            if _is_condition_failure(exc):
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

    # --- internals ----------------------------------------------------------------------------

    def _organised(self, actor: Actor, meeting_id: str) -> MeetingModel:
        meeting = self._meetings.get_visible(actor, meeting_id)
        if not (actor.is_admin or meeting.host_id == actor.user_id):
            raise Forbidden("Only the meeting's host or an admin can start or stop recording.", code="host_required")
        return meeting


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
            for track in sorted(tracks, key=_track_order)
        ],
    }


def tracks_of(job_id: str) -> list[RecordingTrackModel]:
    return sorted(RecordingTrackModel.by_job.query(job_id), key=_track_order)


_TYPE_ORDER = {TrackType.COMPOSITE.value: 0, TrackType.AUDIO_ONLY.value: 1, TrackType.VIDEO_ONLY.value: 2}


def _track_order(track: RecordingTrackModel) -> tuple[int, int, str, str]:
    # The room's outputs first (composite, then language audio), then participants and screen shares.
    return (
        0 if track.participant_identity is None else 1,
        _TYPE_ORDER.get(track.track_type, 3),
        track.language or "",
        track.participant_identity or track.id,
    )


def _already_recording(recording_id: str | None) -> Conflict:
    return Conflict(
        "This meeting is already being recorded.",
        code="recording_in_progress",
        details={"recording_id": recording_id},
    )


def _meeting(meeting_id: str) -> MeetingModel | None:
    try:
        return MeetingModel.get(meeting_id)
    except DoesNotExist:
        return None


def _job(job_id: str) -> RecordingJobModel | None:
    try:
        return RecordingJobModel.get(job_id)
    except DoesNotExist:
        return None


def _release(meeting_id: str, job_id: str) -> None:
    """Free the meeting for a new recording, if this job still holds it."""
    try:
        MeetingModel(id=meeting_id).update(
            actions=[MeetingModel.recording_id.remove()], condition=MeetingModel.recording_id == job_id
        )
    except UpdateError as exc:
        if not _is_condition_failure(exc):
            raise


def _is_condition_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
