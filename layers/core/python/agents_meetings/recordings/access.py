"""Who may read a recording: whoever may see its meeting (host, invited participants, admins)."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from agents_meetings.audit import Actor
from agents_meetings.errors import NotFound
from agents_meetings.meetings.service import MeetingService
from agents_meetings.tables import MeetingModel, RecordingJobModel


def readable_recording(
    actor: Actor, recording_id: str, meetings: MeetingService
) -> tuple[RecordingJobModel, MeetingModel]:
    """The recording and its meeting, or 404 alike for a missing recording and one the actor may
    not see (never reveal that another meeting's recording exists)."""
    try:
        recording = RecordingJobModel.get(recording_id)
    except DoesNotExist as exc:
        raise NotFound("Recording not found.", code="recording_not_found") from exc
    if recording.deleted_at is not None:
        raise NotFound("Recording not found.", code="recording_not_found")
    try:
        meeting = meetings.get_visible(actor, recording.meeting_id)
    except NotFound as exc:
        raise NotFound("Recording not found.", code="recording_not_found") from exc
    return recording, meeting
