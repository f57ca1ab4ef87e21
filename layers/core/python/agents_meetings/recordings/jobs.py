"""A recording's rows as control and egress progress share them: job and meeting lookups, the
tracks in order, the meeting's one-recording claim released, and a start that failed undone."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, UpdateError

from agents_meetings.clock import utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.observability import logger
from agents_meetings.recordings.egress import EgressClient, EgressError
from agents_meetings.recordings.enums import EgressState, RecordingStatus, TrackType
from agents_meetings.tables import MeetingModel, RecordingJobModel, RecordingTrackModel

LIVE_EGRESS_STATES = (EgressState.STARTING.value, EgressState.ACTIVE.value, EgressState.ENDING.value)


def tracks_of(job_id: str) -> list[RecordingTrackModel]:
    return sorted(RecordingTrackModel.by_job.query(job_id), key=track_order)


_TYPE_ORDER = {TrackType.COMPOSITE.value: 0, TrackType.AUDIO_ONLY.value: 1, TrackType.VIDEO_ONLY.value: 2}


def track_order(track: RecordingTrackModel) -> tuple[int, int, str, str]:
    # The room's outputs first (composite, then language audio), then participants and screen shares.
    return (
        0 if track.participant_identity is None else 1,
        _TYPE_ORDER.get(track.track_type, 3),
        track.language or "",
        track.participant_identity or track.id,
    )


def find_meeting(meeting_id: str) -> MeetingModel | None:
    try:
        return MeetingModel.get(meeting_id)
    except DoesNotExist:
        return None


def find_job(job_id: str) -> RecordingJobModel | None:
    try:
        return RecordingJobModel.get(job_id)
    except DoesNotExist:
        return None


def release_meeting(meeting_id: str, job_id: str) -> None:
    """Free the meeting for a new recording, if this job still holds it."""
    try:
        MeetingModel(id=meeting_id).update(
            actions=[MeetingModel.recording_id.remove()], condition=MeetingModel.recording_id == job_id
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def abandon_start(egress: EgressClient, meeting: MeetingModel, job: RecordingJobModel, reason: str) -> None:
    """The start failed: stop what did start, fail the job and free the meeting."""
    for track in RecordingTrackModel.by_job.query(job.id):
        if track.egress_id:
            try:
                egress.stop(track.egress_id)
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
    release_meeting(meeting.id, job.id)
