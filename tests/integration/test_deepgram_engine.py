"""The Deepgram engine through the real deepgram-sdk against a local server speaking Deepgram's API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agents_meetings.settings import Settings
from agents_meetings.transcription.engines import AudioInput, TranscriptionFailedError, TranscriptionRetryableError
from agents_meetings.transcription.engines.deepgram import DeepgramRecognizer
from transcription_support import synthesize_wav

from tests.servers.deepgram_fake import FakeDeepgram, fake_deepgram

pytestmark = pytest.mark.integration


@pytest.fixture
def deepgram() -> Iterator[FakeDeepgram]:
    with fake_deepgram() as server:
        yield server


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize_wav(tmp_path_factory.mktemp("dg") / "en.wav")


def _settings(server: FakeDeepgram, **extra: object) -> Settings:
    values: dict[str, object] = {
        "DEEPGRAM_API_KEY": server.api_key,
        "DEEPGRAM_URL": server.url,
        "DEEPGRAM_MAX_RETRIES": 0,
        "DEEPGRAM_TIMEOUT_SECONDS": 0.5,
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


def test_file_upload_with_model_diarization_smart_format_utterances_and_language(
    deepgram: FakeDeepgram, wav: Path
) -> None:
    settings = _settings(deepgram, DEEPGRAM_MODEL="nova-2")
    transcript = DeepgramRecognizer(settings).transcribe(AudioInput("rec-1", "es", wav))
    (request,) = deepgram.requests
    assert request.path == "/v1/listen"
    assert request.authorization == f"Token {deepgram.api_key}"
    assert request.body == wav.read_bytes()
    assert {k: v[0] for k, v in request.query.items()} == {
        "model": "nova-2",
        "language": "es",
        "diarize": "true",
        "smart_format": "true",
        "punctuate": "true",
        "utterances": "true",
    }
    assert transcript.provider == "deepgram:nova-2"
    assert transcript.language == "es"
    assert [s.speaker for s in transcript.segments] == ["0", "1"]
    assert transcript.text == "Welcome to the algebra class. Thank you teacher."


def test_signed_url_is_sent_for_deepgram_to_fetch(deepgram: FakeDeepgram) -> None:
    url = "https://recordings.s3.amazonaws.com/recordings/r/audio/en.wav?X-Amz-Signature=abc"
    transcript = DeepgramRecognizer(_settings(deepgram)).transcribe(AudioInput("r", "en", signed_url=url))
    (request,) = deepgram.requests
    assert request.content_type == "application/json"
    assert b'"url"' in request.body and b"X-Amz-Signature" in request.body
    assert transcript.word_count == 8


@pytest.mark.parametrize("status", [400, 401, 402])
def test_refusals_are_permanent_failures(deepgram: FakeDeepgram, wav: Path, status: int) -> None:
    deepgram.script = [status]
    with pytest.raises(TranscriptionFailedError, match=f"HTTP {status}") as raised:
        DeepgramRecognizer(_settings(deepgram)).transcribe(AudioInput("r", "en", wav))
    assert deepgram.api_key not in str(raised.value)


def test_a_wrong_key_is_a_permanent_failure_and_is_never_echoed(deepgram: FakeDeepgram, wav: Path) -> None:
    settings = _settings(deepgram, DEEPGRAM_API_KEY="wrong-secret-key-123")
    with pytest.raises(TranscriptionFailedError, match="INVALID_AUTH") as raised:
        DeepgramRecognizer(settings).transcribe(AudioInput("r", "en", wav))
    assert "wrong-secret-key-123" not in str(raised.value)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retryable(deepgram: FakeDeepgram, wav: Path, status: int) -> None:
    deepgram.script = [status]
    with pytest.raises(TranscriptionRetryableError, match=f"HTTP {status}"):
        DeepgramRecognizer(_settings(deepgram)).transcribe(AudioInput("r", "en", wav))


def test_a_timeout_is_retryable(deepgram: FakeDeepgram, wav: Path) -> None:
    deepgram.script = ["stall"]
    with pytest.raises(TranscriptionRetryableError, match="did not answer"):
        DeepgramRecognizer(_settings(deepgram)).transcribe(AudioInput("r", "en", wav))


def test_the_sdk_retries_a_transient_error_before_giving_up(deepgram: FakeDeepgram, wav: Path) -> None:
    deepgram.script = [503]
    transcript = DeepgramRecognizer(_settings(deepgram, DEEPGRAM_MAX_RETRIES=1)).transcribe(AudioInput("r", "en", wav))
    assert len(deepgram.requests) == 2
    assert transcript.word_count == 8


def test_no_key_is_a_permanent_failure(deepgram: FakeDeepgram, wav: Path) -> None:
    settings = Settings(DEEPGRAM_URL=deepgram.url, TRANSCRIPTION_ENGINE="deepgram")  # type: ignore[call-arg]
    with pytest.raises(TranscriptionFailedError, match="not configured"):
        DeepgramRecognizer(settings).transcribe(AudioInput("r", "en", wav))
    assert deepgram.requests == []
