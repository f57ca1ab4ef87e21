"""GET /api/v1/recordings/{id}/transcripts: who may read, the formats, and the errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from agents_meetings.settings import Settings, get_settings
from agents_meetings.transcription.engines.deepgram import DeepgramRecognizer
from agents_meetings.transcription.service import TranscriptionService
from http_support import assert_error
from transcription_support import create_recording, synthesize_wav, upload_audio

from tests.servers.deepgram_fake import fake_deepgram

pytestmark = pytest.mark.integration


@pytest.fixture
def setup(client: Any, make_user: Any, admin_headers: dict[str, str], tmp_path: Any) -> Iterator[dict[str, Any]]:
    host, participant, stranger = make_user("host"), make_user("participant"), make_user("participant")
    created = client.post(
        "/api/v1/meetings",
        json={"title": "Algebra", "meeting_type": "classroom", "scheduled_at": "2030-01-01T15:00:00Z"},
        headers=host.headers,
    )
    assert created.status_code == 201, created.text
    meeting_id = created.json()["id"]
    invited = client.post(
        f"/api/v1/meetings/{meeting_id}/participants", json={"user_ids": [participant.id]}, headers=host.headers
    )
    assert invited.status_code in (200, 201), invited.text
    recording = create_recording(meeting_id, ["en", "es"])
    wav = synthesize_wav(tmp_path / "en.wav")
    upload_audio(recording.id, "en", wav)
    with fake_deepgram() as server:
        recognizer = DeepgramRecognizer(
            Settings(DEEPGRAM_API_KEY=server.api_key, DEEPGRAM_URL=server.url, DEEPGRAM_MAX_RETRIES=0)  # type: ignore[call-arg]
        )
        TranscriptionService(recognizer=recognizer, settings=get_settings()).transcribe_language(recording.id, "en")
    yield {
        "url": f"/api/v1/recordings/{recording.id}/transcripts",
        "host": host.headers,
        "participant": participant.headers,
        "stranger": stranger.headers,
        "admin": admin_headers,
    }


@pytest.mark.parametrize("reader", ["host", "participant", "admin"])
def test_meeting_readers_get_the_transcript(client: Any, setup: dict[str, Any], reader: str) -> None:
    response = client.get(setup["url"], params={"language": "en", "format": "json"}, headers=setup[reader])
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["recording_id", "language", "provider", "duration", "segments"]
    assert body["segments"][0]["speaker"] == "0"
    assert body["segments"][0]["text"] == "Welcome to the algebra class."


def test_another_users_recording_is_404_and_anonymous_is_401(client: Any, setup: dict[str, Any]) -> None:
    assert_error(client.get(setup["url"], params={"language": "en"}, headers=setup["stranger"]), 404)
    assert_error(client.get(setup["url"], headers=setup["stranger"]), 404, "recording_not_found")
    assert_error(client.get(setup["url"], params={"language": "en"}), 401)
    assert_error(
        client.get("/api/v1/recordings/no-such-recording/transcripts", headers=setup["admin"]),
        404,
        "recording_not_found",
    )


@pytest.mark.parametrize(
    ("fmt", "content_type", "starts"),
    [
        ("txt", "text/plain; charset=utf-8", b"[00:00:00] Speaker 0: Welcome"),
        ("srt", "application/x-subrip; charset=utf-8", b"1\n00:00:00,320 --> "),
        ("vtt", "text/vtt; charset=utf-8", b"WEBVTT\n\n00:00:00.320 --> "),
    ],
)
def test_text_formats_come_back_as_files(
    client: Any, setup: dict[str, Any], fmt: str, content_type: str, starts: bytes
) -> None:
    response = client.get(setup["url"], params={"language": "en", "format": fmt}, headers=setup["participant"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == content_type
    assert response.content.startswith(starts)
    assert f".{fmt}" in response.headers["content-disposition"]


def test_unknown_format_is_422_with_a_clear_message(client: Any, setup: dict[str, Any]) -> None:
    error = assert_error(
        client.get(setup["url"], params={"language": "en", "format": "docx"}, headers=setup["host"]),
        422,
        "unknown_transcript_format",
    )
    assert "txt, srt, vtt, json" in error["message"]


def test_no_transcript_in_that_language_is_404(client: Any, setup: dict[str, Any]) -> None:
    assert_error(
        client.get(setup["url"], params={"language": "es"}, headers=setup["host"]), 404, "transcript_not_found"
    )
    assert_error(
        client.get(setup["url"], params={"language": "fr"}, headers=setup["host"]), 404, "transcript_not_found"
    )


def test_without_language_lists_the_transcripts(client: Any, setup: dict[str, Any]) -> None:
    response = client.get(setup["url"], headers=setup["participant"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["recording_id"] in setup["url"]
    (item,) = body["items"]
    assert item["language"] == "en"
    assert item["status"] == "completed"
    assert item["formats"] == ["json", "srt", "txt", "vtt"]
    assert item["provider"] == "deepgram:nova-3"
    assert item["word_count"] == 8
