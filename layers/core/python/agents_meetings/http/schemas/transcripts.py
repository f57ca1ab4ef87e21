"""Bodies of /api/v1/recordings/{id}/transcripts."""

from __future__ import annotations

from pydantic import (
    BaseModel,
)


class TranscriptSummaryOut(BaseModel):
    language: str
    status: str
    formats: list[str]
    provider: str | None = None
    word_count: int | None = None
    confidence: float | None = None
    completed_at: str | None = None
    error_message: str | None = None


class TranscriptListOut(BaseModel):
    recording_id: str
    items: list[TranscriptSummaryOut]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "recording_id": "6f1c0d3e-8f0a-4f55-9a6b-2f3d1c2b9e10",
                    "items": [
                        {
                            "language": "en",
                            "status": "completed",
                            "formats": ["json", "srt", "txt", "vtt"],
                            "provider": "deepgram:nova-3",
                            "word_count": 5120,
                            "confidence": 0.94,
                            "completed_at": "2030-01-01T16:05:00Z",
                            "error_message": None,
                        }
                    ],
                }
            ]
        }
    }
