"""Segment planning of long transcodes (a 3-hour meeting must fit Lambda's 15-minute cap) and the
``ffmpeg -i`` parser used when no ffprobe exists."""

from __future__ import annotations

import itertools

import pytest
from agents_meetings.media.errors import UnreadableMedia
from agents_meetings.media.probe import parse_ffmpeg_banner
from agents_meetings.media.segments import plan_segments

pytestmark = pytest.mark.unit

THREE_HOURS = 3 * 3600.0


def _covers(segments: list, duration: float) -> None:
    assert segments[0].start == 0
    for before, after in itertools.pairwise(segments):
        assert before.duration is not None
        assert before.start + before.duration == pytest.approx(after.start)
    assert segments[-1].duration is None  # the last one runs to the end: no rounding loses a tail
    assert segments[-1].start < duration


def test_a_three_hour_recording_is_planned_in_segments_that_each_fit_a_lambda_run() -> None:
    segments = plan_segments(THREE_HOURS, 300)
    assert len(segments) == 36
    _covers(segments, THREE_HOURS)
    # At the ~4.5x real time measured for H.264 on 2 cores, 300 s of media take ~67 s: far under 900 s.
    assert max((s.duration or THREE_HOURS - s.start) for s in segments) <= 300


def test_three_hours_with_keyframes_every_two_seconds_cuts_on_keyframes() -> None:
    keyframes = [float(t) for t in range(0, int(THREE_HOURS), 2)]
    segments = plan_segments(THREE_HOURS, 301, keyframes)
    _covers(segments, THREE_HOURS)
    assert all(s.start in keyframes for s in segments)
    assert all(s.start <= s.index * 301 for s in segments)  # moved back, never forward


def test_a_short_tail_joins_the_previous_segment() -> None:
    segments = plan_segments(610, 300)
    assert [(s.start, s.duration) for s in segments] == [(0, 300), (300, None)]
    assert len(plan_segments(700, 300)) == 3  # a 100 s tail is a third of a segment: kept apart


def test_sparse_keyframes_never_produce_empty_segments() -> None:
    segments = plan_segments(1000, 100, keyframes=[0.0, 450.0])
    _covers(segments, 1000)
    assert [s.start for s in segments] == [0, 450.0]


def test_a_recording_shorter_than_a_segment_is_one_segment() -> None:
    assert [(s.index, s.start, s.duration) for s in plan_segments(12.5, 300)] == [(0, 0, None)]


@pytest.mark.parametrize(("duration", "length"), [(0, 300), (-1, 300), (10, 0)])
def test_bad_plans_are_refused(duration: float, length: float) -> None:
    with pytest.raises(ValueError):
        plan_segments(duration, length)


FFMPEG_BANNER = (
    "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'composite.mp4':\n"
    "  Metadata:\n"
    "    major_brand     : isom\n"
    "  Duration: 01:02:03.50, start: 0.000000, bitrate: 301 kb/s\n"
    "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), "
    "1280x720 [SAR 1:1 DAR 16:9], 230 kb/s, 25 fps, 25 tbr, 12800 tbn (default)\n"
    "  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 64 kb/s (default)\n"
    "At least one output file must be specified\n"
)


def test_ffmpeg_banner_is_parsed_when_there_is_no_ffprobe() -> None:
    formats, duration, streams = parse_ffmpeg_banner(FFMPEG_BANNER)
    assert "mp4" in formats
    assert duration == pytest.approx(3723.5)
    video, audio = streams
    assert (video.kind, video.codec, video.width, video.height, video.frame_rate) == ("video", "h264", 1280, 720, 25)
    assert (audio.kind, audio.codec, audio.sample_rate, audio.channels) == ("audio", "aac", 48000, 2)


def test_a_banner_without_an_input_is_unreadable_media_with_the_stderr_tail() -> None:
    with pytest.raises(UnreadableMedia) as raised:
        parse_ffmpeg_banner("junk.bin: Invalid data found when processing input\n")
    assert "Invalid data found" in str(raised.value)
