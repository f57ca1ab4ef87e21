"""Recordings as egress leaves them, for the post-processing tests: generated media (test pattern +
espeak-ng speech) in the bucket under recordings/<id>/raw/, job and track rows, and the manifest."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from agents_meetings.media import MediaTools, samples
from agents_meetings.media.tools import discover
from agents_meetings.storage import ObjectStore
from agents_meetings.tables import MeetingModel, RecordingJobModel, RecordingTrackModel

SECONDS = 6
SPEECH = {"en": "Welcome to the meeting. We start with the budget.", "es": "Bienvenidos a la reunion de hoy."}


@dataclass(frozen=True)
class StagedRecording:
    recording_id: str
    meeting_id: str
    host_id: str
    manifest_key: str
    manifest: dict[str, Any]


def make_media(root: Path, tools: MediaTools | None = None) -> dict[str, Path]:
    tools = tools or discover()
    speech = {lang: samples.speech_wav(text, root / f"{lang}.wav", language=lang) for lang, text in SPEECH.items()}
    return {
        "composite.mp4": samples.composite_mp4(tools, root / "composite.mp4", seconds=SECONDS, speech=speech["en"]),
        "composite.webm": samples.composite_webm(tools, root / "composite.webm", seconds=SECONDS),
        **{
            f"{lang}.ogg": samples.audio_track_ogg(tools, root / f"{lang}.ogg", speech=wav, seconds=SECONDS)
            for lang, wav in speech.items()
        },
    }


@pytest.fixture(scope="session")
def recording_media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_media(tmp_path_factory.mktemp("recording-media"))


def stage_recording(
    store: ObjectStore,
    media: dict[str, Path],
    *,
    languages: tuple[str, ...] = ("en", "es"),
    output_format: str = "mp4",
    composite: str = "composite.mp4",
    audio_tracks: bool = True,
    upload: bool = True,
    write_manifest: bool = True,
) -> StagedRecording:
    """What recording control (egress) leaves behind when every egress ended."""
    now = datetime.now(UTC)
    recording_id, meeting_id, host_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    MeetingModel(
        id=meeting_id,
        title="Budget review",
        host_id=host_id,
        meeting_type="regular",
        status="ended",
        scheduled_at=now,
        room_name=f"room-{meeting_id}",
        languages=list(languages),
        created_at=now,
        updated_at=now,
    ).save()
    RecordingJobModel(
        id=recording_id,
        meeting_id=meeting_id,
        status="processing",
        output_format=output_format,
        started_at=now,
        started_by=host_id,
        languages=list(languages),
    ).save()
    tracks: list[dict[str, Any]] = []
    files = [("composite", None, composite)]
    if audio_tracks:
        files += [("audio_only", lang, f"{lang}.ogg") for lang in languages if f"{lang}.ogg" in media]
    for track_type, language, name in files:
        track_id = str(uuid.uuid4())
        key = f"recordings/{recording_id}/raw/{track_id}{Path(name).suffix}"
        if upload:
            store.put_file(key, media[name])
        size = media[name].stat().st_size
        RecordingTrackModel(
            id=track_id,
            recording_job_id=recording_id,
            track_type=track_type,
            language=language,
            file_path=key,
            file_size_bytes=size,
        ).save()
        tracks.append(
            {
                "id": track_id,
                "track_type": track_type,
                "language": language,
                "participant_identity": None,
                "file_path": key,
                "file_size_bytes": size,
            }
        )
    manifest = {
        "recording_id": recording_id,
        "meeting_id": meeting_id,
        "output_format": output_format,
        "languages": list(languages),
        "tracks": tracks,
    }
    manifest_key = f"recordings/{recording_id}/manifest.json"
    if write_manifest:
        store.put_bytes(manifest_key, json.dumps(manifest).encode(), content_type="application/json")
    return StagedRecording(recording_id, meeting_id, host_id, manifest_key, manifest)
