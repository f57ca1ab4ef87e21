"""The one normalised transcript every engine produces and every format is rendered from.

The JSON form (``Transcript.to_dict``) is the stored contract that search indexes:
``{"recording_id", "language", "provider", "duration", "segments": [{"id", "speaker", "start",
"end", "text", "words": [{"word", "start", "end", "confidence", "speaker"}]}]}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    confidence: float | None = None
    speaker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "word": self.word,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "speaker": self.speaker,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        confidence = data.get("confidence")
        speaker = data.get("speaker")
        return cls(
            word=str(data["word"]),
            start=float(data["start"]),
            end=float(data["end"]),
            confidence=None if confidence is None else float(confidence),
            speaker=None if speaker is None else str(speaker),
        )


@dataclass(frozen=True)
class Segment:
    """A stretch of speech by one speaker (an utterance), with its words."""

    id: int
    start: float
    end: float
    text: str
    speaker: str | None = None
    words: tuple[Word, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "speaker": self.speaker,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "words": [word.to_dict() for word in self.words],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        speaker = data.get("speaker")
        return cls(
            id=int(data["id"]),
            start=float(data["start"]),
            end=float(data["end"]),
            text=str(data["text"]),
            speaker=None if speaker is None else str(speaker),
            words=tuple(Word.from_dict(word) for word in data.get("words") or ()),
        )


@dataclass(frozen=True)
class Transcript:
    recording_id: str
    language: str
    provider: str
    duration: float
    segments: tuple[Segment, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return " ".join(segment.text for segment in self.segments if segment.text)

    @property
    def word_count(self) -> int:
        """Words recognised: the engine's word list where it has one, else the text's words."""
        return sum(len(segment.words) or len(segment.text.split()) for segment in self.segments)

    @property
    def confidence(self) -> float | None:
        """Mean word confidence (None when the engine reports none, e.g. an empty transcript)."""
        values = [w.confidence for s in self.segments for w in s.words if w.confidence is not None]
        if not values:
            return None
        return round(sum(values) / len(values), 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recording_id": self.recording_id,
            "language": self.language,
            "provider": self.provider,
            "duration": round(self.duration, 3),
            "segments": [segment.to_dict() for segment in self.segments],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        missing = {"recording_id", "language", "provider", "duration", "segments"} - data.keys()
        if missing:
            raise ValueError(f"transcript JSON is missing {sorted(missing)}")
        return cls(
            recording_id=str(data["recording_id"]),
            language=str(data["language"]),
            provider=str(data["provider"]),
            duration=float(data["duration"]),
            segments=tuple(Segment.from_dict(segment) for segment in data["segments"]),
        )
