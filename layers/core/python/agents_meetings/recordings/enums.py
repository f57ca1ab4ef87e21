"""The recording domain's vocabularies (spec 1.1 enums) and the object layout the pipeline reads."""

from __future__ import annotations

from enum import StrEnum


class RecordingStatus(StrEnum):
    PENDING = "pending"
    RECORDING = "recording"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class TrackType(StrEnum):
    COMPOSITE = "composite"
    AUDIO_ONLY = "audio_only"
    VIDEO_ONLY = "video_only"
    SCREEN_SHARE = "screen_share"


class OutputFormat(StrEnum):
    MP4 = "mp4"
    WEBM = "webm"


class StorageTier(StrEnum):
    HOT = "hot"
    COOL = "cool"
    ARCHIVE = "archive"

    @property
    def storage_class(self) -> str:
        return _STORAGE_CLASSES[self]


_STORAGE_CLASSES = {StorageTier.HOT: "STANDARD", StorageTier.COOL: "STANDARD_IA", StorageTier.ARCHIVE: "GLACIER_IR"}


class AppliesTo(StrEnum):
    ALL_MEETINGS = "all_meetings"
    CLASSROOM_ONLY = "classroom_only"
    REGULAR_ONLY = "regular_only"


class EgressState(StrEnum):
    """Where one egress (one track) stands, from LiveKit's EgressStatus."""

    STARTING = "starting"
    ACTIVE = "active"
    ENDING = "ending"
    COMPLETE = "complete"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (EgressState.COMPLETE, EgressState.FAILED)


RECORDINGS_PREFIX = "recordings"


def raw_track_key(recording_id: str, track_id: str, extension: str) -> str:
    """Where egress writes a track's file (the contract with the post-processing pipeline)."""
    return f"{RECORDINGS_PREFIX}/{recording_id}/raw/{track_id}.{extension}"


def manifest_key(recording_id: str) -> str:
    """Writing this object starts the post-processing pipeline."""
    return f"{RECORDINGS_PREFIX}/{recording_id}/manifest.json"


def recording_prefix(recording_id: str) -> str:
    return f"{RECORDINGS_PREFIX}/{recording_id}/"
