"""Recording control: start and stop a meeting's recording through LiveKit Egress, and plan its
egresses.

A recording is one job and one track per egress: the room composite (MP4 or WebM), an audio-only
output per meeting language (tagged with it), and optionally each participant's camera and every
screen share. One recording per meeting at a time: the meeting's ``recording_id`` is claimed
conditionally in the same transaction that creates the job. Stopping hands the recording to egress
progress (``progress.py``), which finishes it when every egress has ended.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.conditions import is_condition_failure, transaction_cancelled_by_condition
from agents_meetings.errors import Conflict, Forbidden, ServiceUnavailable
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.meetings.service import MeetingService, MeetingStatus
from agents_meetings.observability import logger
from agents_meetings.recordings.egress import (
    EgressClient,
    EgressError,
    EgressRequest,
    EgressSnapshot,
    FileExtension,
    RoomTrack,
)
from agents_meetings.recordings.enums import EgressState, OutputFormat, RecordingStatus, TrackType, raw_track_key
from agents_meetings.recordings.jobs import (
    LIVE_EGRESS_STATES,
    abandon_start,
    find_job,
    find_meeting,
    release_meeting,
)
from agents_meetings.recordings.progress import EgressProgress
from agents_meetings.tables import MeetingModel, RecordingJobModel, RecordingTrackModel, transaction_connection

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


@dataclass(frozen=True)
class _PlannedTrack:
    track: RecordingTrackModel
    request: EgressRequest


class RecordingControl:
    def __init__(
        self,
        events: EventPublisher,
        *,
        meetings: MeetingService,
        egress: EgressClient,
        audit: AuditLog,
        progress: EgressProgress,
    ):
        self._events = events
        self._meetings = meetings
        self._egress = egress
        self._audit = audit
        self._progress = progress

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
        meeting = find_meeting(meeting_id)
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
        meeting = find_meeting(meeting_id)
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
            abandon_start(self._egress, meeting, job, str(exc))
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
        self._announce(
            actor,
            "recording.started",
            DomainEvent.RECORDING_STARTED,
            meeting,
            job,
            {
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
            if not transaction_cancelled_by_condition(exc):
                raise
            current = find_meeting(meeting.id)
            if current is None or current.status != MeetingStatus.ACTIVE.value:
                raise Conflict("Only a live meeting can be recorded.", code="meeting_not_live") from exc
            raise _already_recording(current.recording_id) from exc
        meeting.written()  # a transaction's writes bypass the model's write hooks (the cache's)

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

    def _stop(self, meeting: MeetingModel, *, stopped_by: str, actor: Actor | None) -> RecordingJobModel:
        if not meeting.recording_id:
            raise Conflict("This meeting is not being recorded.", code="not_recording")
        job = find_job(meeting.recording_id)
        if job is None:
            release_meeting(meeting.id, meeting.recording_id)
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
                self._progress.finish_track(track, snapshot)
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
            if not is_condition_failure(exc):
                raise
        release_meeting(meeting.id, job.id)
        self._announce(
            actor,
            "recording.stopped",
            DomainEvent.RECORDING_STOPPED,
            meeting,
            job,
            {
                "stopped_by": stopped_by,
                "stopped_at": isoformat_z(now),
            },
        )
        self._progress.maybe_finalise(job.id)
        return RecordingJobModel.get(job.id)

    def _announce(
        self,
        actor: Actor | None,
        action: str,
        event: DomainEvent,
        meeting: MeetingModel,
        job: RecordingJobModel,
        detail: dict[str, Any],
    ) -> None:
        """Audit what a person did (the auto-recorder is no one) and publish the event."""
        if actor is not None:
            self._audit.record(actor, action, "recording", job.id, {"meeting_id": meeting.id})
        self._events.publish(
            event, {"recording_id": job.id, "meeting_id": meeting.id, "host_id": meeting.host_id, **detail}
        )

    def _organised(self, actor: Actor, meeting_id: str) -> MeetingModel:
        meeting = self._meetings.get_visible(actor, meeting_id)
        if not (actor.is_admin or meeting.host_id == actor.user_id):
            raise Forbidden("Only the meeting's host or an admin can start or stop recording.", code="host_required")
        return meeting


def _already_recording(recording_id: str | None) -> Conflict:
    return Conflict(
        "This meeting is already being recorded.",
        code="recording_in_progress",
        details={"recording_id": recording_id},
    )
