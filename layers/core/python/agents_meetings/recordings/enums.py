"""The recording domain's vocabularies (spec 1.1 enums) and the object layout the pipeline reads."""

from __future__ import annotations

import re
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
MANIFEST_NAME = "manifest.json"
# The manifest key of any recording (``recordings/*/manifest.json``): the pipeline's S3 trigger is
# this prefix and suffix, and ``manifest_key`` and ``recording_id_from_manifest_key`` its two ways.
MANIFEST_KEY_PREFIX = f"{RECORDINGS_PREFIX}/"
MANIFEST_KEY_SUFFIX = f"/{MANIFEST_NAME}"
MANIFEST_KEY_PATTERN = f"{MANIFEST_KEY_PREFIX}<id>{MANIFEST_KEY_SUFFIX}"
_MANIFEST_KEY = re.compile(
    rf"^{re.escape(MANIFEST_KEY_PREFIX)}(?P<id>[A-Za-z0-9_-]{{1,100}}){re.escape(MANIFEST_KEY_SUFFIX)}$"
)


def raw_track_key(recording_id: str, track_id: str, extension: str) -> str:
    """Where egress writes a track's file (the contract with the post-processing pipeline)."""
    return f"{RECORDINGS_PREFIX}/{recording_id}/raw/{track_id}.{extension}"


def manifest_key(recording_id: str) -> str:
    """Writing this object starts the post-processing pipeline."""
    return f"{MANIFEST_KEY_PREFIX}{recording_id}{MANIFEST_KEY_SUFFIX}"


def recording_id_from_manifest_key(key: str) -> str | None:
    """The recording a manifest key names, or None if ``key`` is not a manifest key."""
    found = _MANIFEST_KEY.match(key)
    return found["id"] if found else None


def recording_prefix(recording_id: str) -> str:
    return f"{RECORDINGS_PREFIX}/{recording_id}/"
