"""Speech engines behind one port; ``recognizer_for(settings)`` picks the configured one."""

from __future__ import annotations

from agents_meetings.settings import Settings, get_settings
from agents_meetings.transcription.engines.base import (
    AudioInput,
    SpeechRecognizer,
    TranscriptionFailedError,
    TranscriptionRetryableError,
)
from agents_meetings.transcription.engines.deepgram import DeepgramRecognizer
from agents_meetings.transcription.engines.offline import shared_whisper_recognizer

__all__ = [
    "AudioInput",
    "SpeechRecognizer",
    "TranscriptionFailedError",
    "TranscriptionRetryableError",
    "engine_name",
    "recognizer_for",
]


def engine_name(settings: Settings) -> str:
    """TRANSCRIPTION_ENGINE when set; else Deepgram when a key is configured, the offline engine otherwise."""
    if settings.transcription_engine is not None:
        return settings.transcription_engine
    if settings.deepgram_api_key is not None or settings.deepgram_api_key_arn:
        return "deepgram"
    return "offline"


def recognizer_for(settings: Settings | None = None) -> SpeechRecognizer:
    settings = settings or get_settings()
    if engine_name(settings) == "deepgram":
        return DeepgramRecognizer(settings)
    return shared_whisper_recognizer(settings)
