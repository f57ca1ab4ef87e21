"""TranscriptionService: a recording's per-language audio -> transcripts stored in four formats.

``transcribe_language`` is what the post-processing state machine calls once per language, after
writing ``recordings/{id}/audio/{language}.wav``. It is idempotent: the job row of a (recording,
language) has a deterministic id, a completed job is never redone, and only the call that moves
the row to ``completed`` (a conditional update) publishes TranscriptReady, so a retried or
duplicated task publishes it once. Failures mark the job ``failed`` with ``error_message`` and
raise ``TranscriptionRetryableError`` (Step Functions retries it) or ``TranscriptionFailedError``.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.errors import NotFound, Unprocessable
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventBridgePublisher, EventPublisher
from agents_meetings.observability import emit_dimensioned, logger
from agents_meetings.settings import Settings, get_settings
from agents_meetings.storage import ObjectStore, object_store
from agents_meetings.tables import MeetingModel, RecordingJobModel, TranscriptionJobModel
from agents_meetings.transcription.engines import (
    AudioInput,
    SpeechRecognizer,
    TranscriptionFailedError,
    TranscriptionRetryableError,
    recognizer_for,
)
from agents_meetings.transcription.render import CONTENT_TYPES, FORMATS, render

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
JOB_NAMESPACE = uuid.UUID("5d0c6f4e-1d7c-4b8e-9a53-7c1f3b0e2a61")
ERROR_MESSAGE_MAX = 1000


def audio_key(recording_id: str, language: str) -> str:
    return f"recordings/{recording_id}/audio/{language}.wav"


def transcript_key(recording_id: str, language: str, fmt: str) -> str:
    return f"recordings/{recording_id}/transcripts/{language}.{fmt}"


def transcription_job_id(recording_id: str, language: str) -> str:
    """One job row per (recording, language), so concurrent or repeated calls meet on the same row."""
    return str(uuid.uuid5(JOB_NAMESPACE, f"{recording_id}/{language}"))


@dataclass(frozen=True)
class TranscriptionOutcome:
    job_id: str
    recording_id: str
    language: str
    status: str  # completed | skipped (transcription disabled)
    provider: str | None = None
    storage_path: str | None = None
    storage_paths: dict[str, str] = field(default_factory=dict)
    word_count: int | None = None
    confidence: float | None = None
    # False when the job was already completed (a duplicate call): nothing was redone or published.
    transcribed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "recording_id": self.recording_id,
            "language": self.language,
            "status": self.status,
            "provider": self.provider,
            "storage_path": self.storage_path,
            "storage_paths": self.storage_paths,
            "word_count": self.word_count,
            "confidence": self.confidence,
            "transcribed": self.transcribed,
        }


@dataclass(frozen=True)
class TranscriptFile:
    content: bytes
    content_type: str
    filename: str


def _outcome(job: TranscriptionJobModel, *, transcribed: bool) -> TranscriptionOutcome:
    return TranscriptionOutcome(
        job_id=job.id,
        recording_id=job.recording_job_id,
        language=job.language,
        status=job.status,
        provider=job.provider,
        storage_path=job.storage_path,
        storage_paths=dict(job.storage_paths or {}),
        word_count=None if job.word_count is None else int(job.word_count),
        confidence=None if job.confidence is None else float(job.confidence),
        transcribed=transcribed,
    )


class TranscriptionService:
    def __init__(
        self,
        events: EventPublisher | None = None,
        *,
        store: ObjectStore | None = None,
        recognizer: SpeechRecognizer | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._settings = settings or get_settings()
        self._events = events or EventBridgePublisher(self._settings)
        self._store = store
        self._recognizer = recognizer

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            self._store = object_store()
        return self._store

    @property
    def recognizer(self) -> SpeechRecognizer:
        if self._recognizer is None:
            self._recognizer = recognizer_for(self._settings)
        return self._recognizer

    # -- the pipeline's entry points ------------------------------------------------------------

    def transcribe_recording(self, recording_id: str, languages: list[str] | None = None) -> list[TranscriptionOutcome]:
        """Every language of a recording (the spec's name); default: the recording's languages."""
        if languages is None:
            languages = [str(code) for code in self._recording(recording_id).languages or []]
        return [self.transcribe_language(recording_id, language) for language in languages]

    def transcribe_language(self, recording_id: str, language: str) -> TranscriptionOutcome:
        if not LANGUAGE_CODE.match(language or ""):
            raise TranscriptionFailedError(f"Invalid language code {language!r}.")
        job_id = transcription_job_id(recording_id, language)
        if not self._settings.transcription_enabled:
            return TranscriptionOutcome(job_id=job_id, recording_id=recording_id, language=language, status="skipped")
        recording = self._recording(recording_id)
        job = self._job(job_id, recording_id, language)
        if job.status == "completed":
            return _outcome(job, transcribed=False)
        job.update(
            actions=[
                TranscriptionJobModel.status.set("processing"),
                TranscriptionJobModel.attempts.add(1),
                TranscriptionJobModel.error_message.remove(),
            ]
        )
        try:
            stored = self._transcribe_and_store(recording_id, language)
        except TranscriptionRetryableError as exc:
            self._fail(job, str(exc))
            raise
        except TranscriptionFailedError as exc:
            self._fail(job, str(exc))
            raise
        except Exception as exc:  # an unforeseen fault: recorded, then retried by the caller
            self._fail(job, f"{type(exc).__name__}: {exc}")
            raise TranscriptionRetryableError(f"Transcription of {language!r} failed: {type(exc).__name__}") from exc
        provider, paths, word_count, confidence, seconds = stored
        try:
            job.update(
                actions=[
                    TranscriptionJobModel.status.set("completed"),
                    TranscriptionJobModel.completed_at.set(utcnow()),
                    TranscriptionJobModel.provider.set(provider),
                    TranscriptionJobModel.storage_paths.set(paths),
                    TranscriptionJobModel.storage_path.set(paths["json"]),
                    TranscriptionJobModel.transcript_format.set("json"),
                    TranscriptionJobModel.word_count.set(word_count),
                    TranscriptionJobModel.confidence.set(confidence)
                    if confidence is not None
                    else TranscriptionJobModel.confidence.remove(),
                    TranscriptionJobModel.error_message.remove(),
                ],
                condition=TranscriptionJobModel.status != "completed",
            )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise TranscriptionRetryableError(f"Could not record the transcript: {exc}") from exc
            # A concurrent run completed first and published; its files equal ours.
            job.refresh(consistent_read=True)
            return _outcome(job, transcribed=False)
        host_id = self._host_id(recording.meeting_id)
        self._events.publish(
            DomainEvent.TRANSCRIPT_READY,
            {
                "recording_id": recording_id,
                "meeting_id": recording.meeting_id,
                "host_id": host_id,
                "language": language,
                "transcription_job_id": job.id,
                "storage_path": paths["json"],
                "storage_paths": paths,
                "provider": provider,
                "word_count": word_count,
            },
        )
        emit_dimensioned(
            {"TranscriptionsCompleted": ("Count", 1), "TranscriptionMinutes": ("Count", seconds / 60)},
            {"provider": provider},
            {"recording_id": recording_id, "language": language},
        )
        logger.info(
            "transcript ready",
            extra={"recording_id": recording_id, "language": language, "provider": provider, "words": word_count},
        )
        return _outcome(job, transcribed=True)

    # -- reading ---------------------------------------------------------------------------------

    def list_transcripts(self, recording_id: str) -> list[dict[str, Any]]:
        jobs = TranscriptionJobModel.by_recording.query(recording_id)
        return [
            {
                "language": job.language,
                "status": job.status,
                "formats": sorted((job.storage_paths or {}).keys()) if job.status == "completed" else [],
                "provider": job.provider,
                "word_count": None if job.word_count is None else int(job.word_count),
                "confidence": None if job.confidence is None else float(job.confidence),
                "completed_at": isoformat_z(job.completed_at),
                "error_message": job.error_message if job.status == "failed" else None,
            }
            for job in jobs
        ]

    def get_transcript(self, recording_id: str, language: str, fmt: str = "json") -> TranscriptFile:
        if fmt not in FORMATS:
            raise Unprocessable(
                f"Unknown transcript format {fmt!r}: use one of {', '.join(FORMATS)}.",
                code="unknown_transcript_format",
                details={"format": fmt, "allowed": list(FORMATS)},
            )
        not_found = NotFound(
            f"No transcript in language {language!r} for this recording.",
            code="transcript_not_found",
            details={"language": language},
        )
        if not LANGUAGE_CODE.match(language or ""):
            raise not_found
        try:
            job = TranscriptionJobModel.get(transcription_job_id(recording_id, language))
        except DoesNotExist:
            raise not_found from None
        key = (job.storage_paths or {}).get(fmt)
        if job.status != "completed" or not key:
            raise not_found
        try:
            content = self.store.get_bytes(key)
        except NotFound:
            raise not_found from None
        return TranscriptFile(
            content=content, content_type=CONTENT_TYPES[fmt], filename=f"{recording_id}-{language}.{fmt}"
        )

    # -- internals -------------------------------------------------------------------------------

    def _recording(self, recording_id: str) -> RecordingJobModel:
        try:
            return RecordingJobModel.get(recording_id)
        except DoesNotExist:
            raise TranscriptionFailedError(f"Recording {recording_id!r} does not exist.") from None

    def _host_id(self, meeting_id: str) -> str:
        try:
            return str(MeetingModel.get(meeting_id).host_id)
        except DoesNotExist:
            return ""

    def _job(self, job_id: str, recording_id: str, language: str) -> TranscriptionJobModel:
        try:
            return TranscriptionJobModel.get(job_id, consistent_read=True)
        except DoesNotExist:
            pass
        job = TranscriptionJobModel(
            id=job_id,
            recording_job_id=recording_id,
            language=language,
            status="pending",
            transcript_format="json",
            created_at=utcnow(),
            attempts=0,
        )
        try:
            job.save(condition=TranscriptionJobModel.id.does_not_exist())
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
            return TranscriptionJobModel.get(job_id, consistent_read=True)
        return job

    def _fail(self, job: TranscriptionJobModel, message: str) -> None:
        try:
            job.update(
                actions=[
                    TranscriptionJobModel.status.set("failed"),
                    TranscriptionJobModel.error_message.set(message[:ERROR_MESSAGE_MAX]),
                ],
                condition=TranscriptionJobModel.status != "completed",
            )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                logger.exception("could not mark the transcription job failed", extra={"job_id": job.id})
        logger.warning("transcription failed", extra={"job_id": job.id, "error_message": message[:ERROR_MESSAGE_MAX]})

    def _transcribe_and_store(
        self, recording_id: str, language: str
    ) -> tuple[str, dict[str, str], int, float | None, float]:
        key = audio_key(recording_id, language)
        if self.store.head(key) is None:
            raise TranscriptionFailedError(f"The audio track {key!r} does not exist.")
        recognizer = self.recognizer
        in_cloud = self._settings.aws_endpoint_url is None and self._settings.storage_backend == "s3"
        if recognizer.fetches_urls and in_cloud:
            # The provider fetches the track itself: no multi-hour WAV passes through the function.
            transcript = recognizer.transcribe(
                AudioInput(recording_id=recording_id, language=language, signed_url=self.store.signed_get_url(key))
            )
        else:
            with tempfile.TemporaryDirectory(prefix="transcribe-") as workdir:
                path = self.store.download_to(key, Path(workdir) / f"{language}.wav")
                transcript = recognizer.transcribe(AudioInput(recording_id=recording_id, language=language, path=path))
        paths: dict[str, str] = {}
        for fmt in FORMATS:
            target = transcript_key(recording_id, language, fmt)
            self.store.put_bytes(target, render(transcript, fmt), content_type=CONTENT_TYPES[fmt])
            paths[fmt] = target
        return transcript.provider, paths, transcript.word_count, transcript.confidence, max(0.0, transcript.duration)
