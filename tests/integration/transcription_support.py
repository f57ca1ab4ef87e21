"""Shared helpers of the transcription tests: speech made with espeak-ng, a recording to attach it to."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

from agents_meetings.clock import utcnow
from agents_meetings.storage import object_store
from agents_meetings.tables import RecordingJobModel
from agents_meetings.transcription.service import audio_key

SENTENCE = "the meeting will start at nine in the morning. please share your screen with everyone"


def synthesize_wav(path: Path, text: str = SENTENCE, voice: str = "en-us", speed: int = 150) -> Path:
    """16 kHz mono 16-bit PCM WAV of ``text`` spoken by espeak-ng (the pipeline's audio format)."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path)], check=True)
    raw.unlink()
    return path


def create_recording(meeting_id: str, languages: list[str], **fields: Any) -> RecordingJobModel:
    """A finished recording row of ``meeting_id`` (what the recording pipeline leaves behind)."""
    recording = RecordingJobModel(
        id=str(uuid.uuid4()),
        meeting_id=meeting_id,
        status="processing",
        output_format="mp4",
        started_at=utcnow(),
        languages=languages,
        **fields,
    )
    recording.save()
    return recording


def upload_audio(recording_id: str, language: str, wav: Path) -> str:
    key = audio_key(recording_id, language)
    object_store().put_file(key, wav, content_type="audio/wav")
    return key
