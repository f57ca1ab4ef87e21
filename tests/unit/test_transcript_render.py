"""The normalised transcript model and its TXT, SRT, WebVTT and JSON renderings."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from agents_meetings.transcription.model import Segment, Transcript, Word
from agents_meetings.transcription.render import (
    MAX_CUE_SECONDS,
    MAX_LINE_CHARS,
    MAX_LINES,
    cues,
    parse_json,
    render,
    render_json,
    render_srt,
    render_txt,
    render_vtt,
    timestamp,
)

pytestmark = pytest.mark.unit

SRT_TIME = re.compile(r"^\d{2,}:\d{2}:\d{2},\d{3} --> \d{2,}:\d{2}:\d{2},\d{3}$")
VTT_TIME = re.compile(r"^\d{2,}:\d{2}:\d{2}\.\d{3} --> \d{2,}:\d{2}:\d{2}\.\d{3}$")


def _words(text: str, start: float, step: float, speaker: str | None = None) -> tuple[Word, ...]:
    return tuple(
        Word(token, round(start + i * step, 3), round(start + (i + 1) * step, 3), confidence=0.9, speaker=speaker)
        for i, token in enumerate(text.split())
    )


def _segment(seg_id: int, text: str, start: float, step: float = 0.4, speaker: str | None = "0") -> Segment:
    words = _words(text, start, step, speaker)
    return Segment(id=seg_id, start=start, end=words[-1].end, text=text, speaker=speaker, words=words)


def _transcript(*segments: Segment, language: str = "en") -> Transcript:
    return Transcript(recording_id="rec-1", language=language, provider="test", duration=5000.0, segments=segments)


def test_timestamps_past_one_hour_and_past_a_hundred_hours() -> None:
    assert timestamp(3723.5) == "01:02:03.500"
    assert timestamp(3723.5, ",") == "01:02:03,500"
    assert timestamp(0) == "00:00:00.000"
    assert timestamp(59.9996) == "00:01:00.000"
    assert timestamp(360_000.25) == "100:00:00.250"


def test_subtitles_of_a_segment_after_the_first_hour_carry_hours() -> None:
    transcript = _transcript(_segment(0, "late in the meeting we summarise", 3725.0))
    srt = render_srt(transcript)
    vtt = render_vtt(transcript)
    assert "01:02:05,000 --> 01:02:07,400" in srt
    assert "01:02:05.000 --> 01:02:07.400" in vtt


def test_empty_transcript_renders_valid_empty_files_and_round_trips() -> None:
    empty = Transcript(recording_id="rec-1", language="en", provider="test", duration=0.0)
    assert render_txt(empty) == ""
    assert render_srt(empty) == ""
    assert render_vtt(empty) == "WEBVTT\n"
    assert parse_json(render_json(empty)) == empty
    assert empty.word_count == 0
    assert empty.confidence is None


def test_long_segment_is_split_into_cues_within_the_limits() -> None:
    text = " ".join(f"word{i:02d}" for i in range(60))
    transcript = _transcript(_segment(0, text, 10.0, step=0.5))
    result = cues(transcript)
    assert len(result) > 3
    for cue in result:
        assert 1 <= len(cue.lines) <= MAX_LINES
        assert all(len(line) <= MAX_LINE_CHARS for line in cue.lines)
        assert cue.end - cue.start <= MAX_CUE_SECONDS + 1e-9
    assert " ".join(" ".join(cue.lines) for cue in result) == text
    starts = [cue.start for cue in result]
    assert starts == sorted(starts)
    for earlier, later in itertools.pairwise(result):
        assert earlier.end <= later.start + 1e-9


def test_srt_and_vtt_structure() -> None:
    transcript = _transcript(_segment(0, "hello everyone", 1.0), _segment(1, "hi <there> & welcome", 3.0, speaker="1"))
    srt_blocks = render_srt(transcript).strip().split("\n\n")
    assert [block.split("\n")[0] for block in srt_blocks] == ["1", "2"]
    assert all(SRT_TIME.match(block.split("\n")[1]) for block in srt_blocks)
    assert "[Speaker 0] hello everyone" in srt_blocks[0]
    vtt = render_vtt(transcript)
    assert vtt.startswith("WEBVTT\n\n")
    vtt_blocks = vtt.strip().split("\n\n")[1:]
    assert all(VTT_TIME.match(block.split("\n")[0]) for block in vtt_blocks)
    assert "<v Speaker 1>hi &lt;there&gt; &amp; welcome" in vtt


def test_segment_without_word_timings_is_timed_by_its_characters() -> None:
    text = " ".join(["alpha"] * 40)
    transcript = _transcript(Segment(id=0, start=0.0, end=20.0, text=text, speaker=None))
    result = cues(transcript)
    assert len(result) >= 3
    assert result[0].start == 0.0
    assert result[-1].end == pytest.approx(20.0)
    assert transcript.word_count == 40


def test_txt_is_speaker_labelled_paragraphs() -> None:
    transcript = _transcript(
        _segment(0, "good morning class", 0.0),
        _segment(1, "today fractions", 2.0),
        _segment(2, "good morning teacher", 5.0, speaker="1"),
        Segment(id=3, start=3700.0, end=3702.0, text="unlabelled speech", speaker=None),
    )
    paragraphs = render_txt(transcript).strip().split("\n\n")
    assert paragraphs == [
        "[00:00:00] Speaker 0: good morning class today fractions",
        "[00:00:05] Speaker 1: good morning teacher",
        "[01:01:40] unlabelled speech",
    ]


def test_json_top_level_is_the_search_contract_and_round_trips() -> None:
    transcript = _transcript(_segment(0, "hello there", 0.5), _segment(1, "general remarks", 2.0, speaker="1"))
    data = json.loads(render_json(transcript))
    assert list(data) == ["recording_id", "language", "provider", "duration", "segments"]
    assert list(data["segments"][0]) == ["id", "speaker", "start", "end", "text", "words"]
    assert list(data["segments"][0]["words"][0]) == ["word", "start", "end", "confidence", "speaker"]
    assert parse_json(render_json(transcript)) == transcript
    assert parse_json(render(transcript, "json")) == transcript


@pytest.mark.parametrize(
    ("language", "text"),
    [("hi", "नमस्ते कक्षा आज हम भिन्न पढ़ेंगे"), ("ta", "வணக்கம் மாணவர்களே இன்று நாம் பின்னங்களைப் படிப்போம்")],
)
def test_hindi_and_tamil_text_survives_every_format(language: str, text: str) -> None:
    transcript = _transcript(_segment(0, text, 0.0), language=language)
    raw = render(transcript, "json")
    assert text.split()[0].encode() in raw  # stored as UTF-8, not \\u escapes
    assert parse_json(raw) == transcript
    for fmt in ("txt", "srt", "vtt"):
        rendered = render(transcript, fmt).decode("utf-8")
        for token in text.split():
            assert token in rendered


def test_bad_transcript_json_is_refused() -> None:
    with pytest.raises(ValueError, match="missing"):
        parse_json('{"recording_id": "r"}')
    with pytest.raises(ValueError):
        parse_json("[]")


def test_word_count_and_confidence() -> None:
    transcript = _transcript(_segment(0, "one two three", 0.0))
    assert transcript.word_count == 3
    assert transcript.confidence == pytest.approx(0.9)
