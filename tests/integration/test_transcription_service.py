"""TranscriptionService through moto with real speech (espeak-ng), the offline engine and Deepgram's stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.settings import Settings, get_settings
from agents_meetings.storage import object_store
from agents_meetings.tables import MeetingModel, TranscriptionJobModel
from agents_meetings.transcription.engines import TranscriptionFailedError, TranscriptionRetryableError
from agents_meetings.transcription.engines.deepgram import DeepgramRecognizer
from agents_meetings.transcription.engines.offline import WhisperRecognizer
from agents_meetings.transcription.render import parse_json
from agents_meetings.transcription.service import TranscriptionService, transcription_job_id
from emf_support import EmfCapture, emf_fixture  # noqa: F401 - the emf fixture
from http_support import published
from transcription_support import create_recording, synthesize_wav, upload_audio

from tests.servers.deepgram_fake import FakeDeepgram, fake_deepgram

pytestmark = pytest.mark.integration

MEETING_ID = "meeting-transcribed"
HOST_ID = "host-1"


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize_wav(tmp_path_factory.mktemp("speech") / "en.wav")


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> WhisperRecognizer:
    """The offline engine, its model assembled from the packages into this run's directory."""
    model_dir = tmp_path_factory.mktemp("models")
    return WhisperRecognizer(Settings(OFFLINE_ASR_MODEL_DIR=str(model_dir)))  # type: ignore[call-arg]


@pytest.fixture
def deepgram() -> Iterator[FakeDeepgram]:
    with fake_deepgram() as server:
        yield server


@pytest.fixture
def meeting(aws: Any) -> MeetingModel:
    from agents_meetings.clock import utcnow

    model = MeetingModel(
        id=MEETING_ID,
        title="Algebra",
        host_id=HOST_ID,
        meeting_type="classroom",
        status="ended",
        scheduled_at=utcnow(),
        room_name=f"room-{MEETING_ID}",
        created_at=utcnow(),
        updated_at=utcnow(),
        languages=["en", "es"],
    )
    model.save()
    return model


def _deepgram_service(server: FakeDeepgram, **extra: Any) -> TranscriptionService:
    values = {
        "DEEPGRAM_API_KEY": server.api_key,
        "DEEPGRAM_URL": server.url,
        "DEEPGRAM_MAX_RETRIES": 0,
        "DEEPGRAM_TIMEOUT_SECONDS": 0.5,
        **extra,
    }
    settings = get_settings().model_copy(update={})
    recognizer = DeepgramRecognizer(Settings(**values))  # type: ignore[arg-type]
    return TranscriptionService(recognizer=recognizer, settings=settings)


def test_offline_transcription_stores_four_formats_records_the_job_and_publishes_once(
    aws: Any, meeting: MeetingModel, speech: Path, whisper: WhisperRecognizer
) -> None:
    recording = create_recording(MEETING_ID, ["en"])
    upload_audio(recording.id, "en", speech)
    service = TranscriptionService(recognizer=whisper)

    first = service.transcribe_language(recording.id, "en")
    second = service.transcribe_language(recording.id, "en")

    assert first.transcribed and not second.transcribed
    assert first.status == second.status == "completed"
    prefix = f"recordings/{recording.id}/transcripts/en"
    assert first.storage_paths == {fmt: f"{prefix}.{fmt}" for fmt in ("txt", "srt", "vtt", "json")}
    store = object_store()
    transcript = parse_json(store.get_bytes(f"{prefix}.json"))
    words = transcript.text.lower()
    for expected in ("meeting", "start", "morning", "share", "screen"):
        assert expected in words, words
    assert transcript.provider == "faster-whisper:base"
    assert store.get_bytes(f"{prefix}.vtt").startswith(b"WEBVTT")
    assert b" --> " in store.get_bytes(f"{prefix}.srt")
    assert b"meeting" in store.get_bytes(f"{prefix}.txt").lower()

    job = TranscriptionJobModel.get(transcription_job_id(recording.id, "en"))
    assert job.status == "completed"
    assert job.storage_path == f"{prefix}.json"
    assert job.provider == "faster-whisper:base"
    assert job.word_count == transcript.word_count >= 10
    assert 0 < float(job.confidence or 0) <= 1
    assert job.attempts == 1
    assert job.completed_at is not None

    events = published(aws, DomainEvent.TRANSCRIPT_READY, recording_id=recording.id)
    assert len(events) == 1
    assert events[0]["meeting_id"] == MEETING_ID
    assert events[0]["host_id"] == HOST_ID
    assert events[0]["language"] == "en"
    assert events[0]["storage_path"] == f"{prefix}.json"


def test_transcribe_recording_does_every_language_of_the_recording(
    aws: Any, meeting: MeetingModel, speech: Path, deepgram: FakeDeepgram
) -> None:
    recording = create_recording(MEETING_ID, ["en", "es"])
    for language in ("en", "es"):
        upload_audio(recording.id, language, speech)
    outcomes = _deepgram_service(deepgram).transcribe_recording(recording.id)
    assert [(o.language, o.status, o.provider) for o in outcomes] == [
        ("en", "completed", "deepgram:nova-3"),
        ("es", "completed", "deepgram:nova-3"),
    ]
    assert [r.query["language"] for r in deepgram.requests] == [["en"], ["es"]]
    assert len(published(aws, DomainEvent.TRANSCRIPT_READY, recording_id=recording.id)) == 2
    listed = TranscriptionService().list_transcripts(recording.id)
    assert sorted((item["language"], item["status"], tuple(item["formats"])) for item in listed) == [
        ("en", "completed", ("json", "srt", "txt", "vtt")),
        ("es", "completed", ("json", "srt", "txt", "vtt")),
    ]


def test_a_completed_transcription_counts_once_with_its_minutes(
    aws: Any, meeting: MeetingModel, speech: Path, deepgram: FakeDeepgram, emf: EmfCapture
) -> None:
    recording = create_recording(MEETING_ID, ["en"])
    upload_audio(recording.id, "en", speech)
    service = _deepgram_service(deepgram)
    emf.take()
    service.transcribe_language(recording.id, "en")
    service.transcribe_language(recording.id, "en")  # already done: not counted again
    emitted = emf.take()
    [completed] = [m for m in emitted if m.name == "TranscriptionsCompleted"]
    [minutes] = [m for m in emitted if m.name == "TranscriptionMinutes"]
    transcript = parse_json(object_store().get_bytes(f"recordings/{recording.id}/transcripts/en.json"))
    assert transcript.duration > 0
    assert minutes.value == pytest.approx(transcript.duration / 60)
    assert completed.value == 1
    assert {k: v for k, v in completed.dimensions.items() if k != "service"} == {"provider": "deepgram:nova-3"}
    assert (minutes.metadata["recording_id"], minutes.metadata["language"]) == (recording.id, "en")


@pytest.mark.parametrize("status", [429, 500, 503, "stall"])
def test_transient_engine_faults_mark_the_job_failed_and_raise_the_retryable_error(
    aws: Any, meeting: MeetingModel, speech: Path, deepgram: FakeDeepgram, status: int | str
) -> None:
    recording = create_recording(MEETING_ID, ["en"])
    upload_audio(recording.id, "en", speech)
    service = _deepgram_service(deepgram)
    deepgram.script = [status]
    with pytest.raises(TranscriptionRetryableError):
        service.transcribe_language(recording.id, "en")
    job = TranscriptionJobModel.get(transcription_job_id(recording.id, "en"))
    assert job.status == "failed"
    assert job.error_message
    assert published(aws, DomainEvent.TRANSCRIPT_READY, recording_id=recording.id) == []
    assert object_store().list(f"recordings/{recording.id}/transcripts/") == []

    # Step Functions retries: the same call now succeeds on the same job row, and publishes once.
    outcome = service.transcribe_language(recording.id, "en")
    job.refresh()
    assert outcome.transcribed and job.status == "completed" and job.error_message is None
    assert job.attempts == 2
    assert len(published(aws, DomainEvent.TRANSCRIPT_READY, recording_id=recording.id)) == 1


@pytest.mark.parametrize("status", [400, 401])
def test_permanent_engine_faults_mark_the_job_failed(
    aws: Any, meeting: MeetingModel, speech: Path, deepgram: FakeDeepgram, status: int
) -> None:
    recording = create_recording(MEETING_ID, ["en"])
    upload_audio(recording.id, "en", speech)
    deepgram.script = [status]
    with pytest.raises(TranscriptionFailedError, match=f"HTTP {status}"):
        _deepgram_service(deepgram).transcribe_language(recording.id, "en")
    job = TranscriptionJobModel.get(transcription_job_id(recording.id, "en"))
    assert job.status == "failed"
    assert f"HTTP {status}" in (job.error_message or "")
    assert deepgram.api_key not in (job.error_message or "")


def test_missing_audio_or_recording_or_bad_language_fails_clearly(
    aws: Any, meeting: MeetingModel, deepgram: FakeDeepgram
) -> None:
    recording = create_recording(MEETING_ID, ["en"])
    service = _deepgram_service(deepgram)
    with pytest.raises(TranscriptionFailedError, match="does not exist"):
        service.transcribe_language(recording.id, "en")
    assert TranscriptionJobModel.get(transcription_job_id(recording.id, "en")).status == "failed"
    with pytest.raises(TranscriptionFailedError, match="does not exist"):
        service.transcribe_language("no-such-recording", "en")
    with pytest.raises(TranscriptionFailedError, match="Invalid language"):
        service.transcribe_language(recording.id, "../etc")
    assert deepgram.requests == []


def test_undecodable_audio_is_a_permanent_failure_of_the_offline_engine(
    aws: Any, meeting: MeetingModel, whisper: WhisperRecognizer
) -> None:
    recording = create_recording(MEETING_ID, ["en"])
    object_store().put_bytes(f"recordings/{recording.id}/audio/en.wav", b"not a wav file at all" * 10)
    with pytest.raises(TranscriptionFailedError):
        TranscriptionService(recognizer=whisper).transcribe_language(recording.id, "en")
    job = TranscriptionJobModel.get(transcription_job_id(recording.id, "en"))
    assert job.status == "failed" and job.error_message


def test_disabled_transcription_changes_nothing(aws: Any, meeting: MeetingModel, deepgram: FakeDeepgram) -> None:
    recording = create_recording(MEETING_ID, ["en"])
    settings = get_settings().model_copy(update={"transcription_enabled": False})
    outcome = TranscriptionService(settings=settings).transcribe_language(recording.id, "en")
    assert outcome.status == "skipped"
    assert TranscriptionJobModel.count() == 0
    assert json.dumps(outcome.to_dict())
