"""Deepgram's response shape mapped into the normalised transcript; engine selection."""

from __future__ import annotations

import pytest
from agents_meetings.settings import Settings
from agents_meetings.transcription.engines import TranscriptionFailedError, engine_name
from agents_meetings.transcription.engines.deepgram import map_deepgram_response

from tests.servers.deepgram_fake import listen_response

pytestmark = pytest.mark.unit


def test_utterances_become_segments_with_speakers_and_punctuated_words() -> None:
    transcript = map_deepgram_response(listen_response(), recording_id="r", language="en", provider="deepgram:nova-3")
    assert [s.speaker for s in transcript.segments] == ["0", "1"]
    assert transcript.segments[0].text == "Welcome to the algebra class."
    assert transcript.segments[0].start == 0.32
    assert transcript.segments[1].end == 3.95
    assert transcript.segments[0].words[0].word == "Welcome"
    assert transcript.segments[0].words[0].speaker == "0"
    assert transcript.word_count == 8
    assert transcript.duration == pytest.approx(4.45)
    assert 0.9 < (transcript.confidence or 0) < 1


def test_without_utterances_words_are_split_at_speaker_changes_and_pauses() -> None:
    body = listen_response()
    del body["results"]["utterances"]
    words = body["results"]["channels"][0]["alternatives"][0]["words"]
    for word in words:
        word["speaker"] = 0  # one speaker: the 0.9 s gap is no split, a 2 s gap is
    words[-1]["start"], words[-1]["end"] = 6.0, 6.4
    transcript = map_deepgram_response(body, recording_id="r", language="en", provider="p")
    assert [len(s.words) for s in transcript.segments] == [7, 1]
    assert transcript.segments[1].text == "teacher."


def test_silence_maps_to_an_empty_transcript() -> None:
    body = listen_response(())
    body["metadata"]["duration"] = 12.0
    transcript = map_deepgram_response(body, recording_id="r", language="es", provider="p")
    assert transcript.segments == ()
    assert transcript.duration == 12.0


def test_an_unexpected_shape_is_a_permanent_failure() -> None:
    with pytest.raises(TranscriptionFailedError, match="unexpected shape"):
        map_deepgram_response({"metadata": {}}, recording_id="r", language="en", provider="p")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "offline"),
        ({"DEEPGRAM_API_KEY": "k"}, "deepgram"),
        ({"DEEPGRAM_API_KEY_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:dg"}, "deepgram"),
        ({"DEEPGRAM_API_KEY": "k", "TRANSCRIPTION_ENGINE": "offline"}, "offline"),
        ({"TRANSCRIPTION_ENGINE": "deepgram"}, "deepgram"),
    ],
)
def test_engine_choice(env: dict[str, str], expected: str) -> None:
    assert engine_name(Settings(**env)) == expected  # type: ignore[arg-type]


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError):
        Settings(TRANSCRIPTION_ENGINE="whisper-large")  # type: ignore[call-arg]
