"""The SpeechRecognizer port and the two failure classes every engine maps its errors to.

Step Functions retries a task by the error's name: ``TranscriptionRetryableError`` (rate limits,
5xx, timeouts, network faults) is retried with backoff; ``TranscriptionFailedError`` (bad audio,
refused credentials, unsupported language) is not, and the job is marked failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agents_meetings.transcription.model import Transcript


class TranscriptionRetryableError(Exception):
    """A transient fault: the same request may succeed later."""


class TranscriptionFailedError(Exception):
    """A permanent fault: retrying the same request cannot succeed."""


@dataclass(frozen=True)
class AudioInput:
    """One language track: a local 16 kHz mono WAV, or (cloud) a signed URL the provider fetches."""

    recording_id: str
    language: str
    path: Path | None = None
    signed_url: str | None = None


class SpeechRecognizer(Protocol):
    name: str
    # True: give it a signed URL when one exists (the provider downloads; the function does not).
    fetches_urls: bool

    def transcribe(self, audio: AudioInput) -> Transcript: ...
