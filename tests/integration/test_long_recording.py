"""A 3-hour meeting must succeed: its composite is remuxed (never re-encoded) and its audio extracted,
for real, on a recording made cheaply (low resolution and frame rate, one chunk looped by stream
copy). Speeds are printed by bench/recording_pipeline.py, not asserted here."""

from __future__ import annotations

from pathlib import Path

import pytest
from agents_meetings.media import extract_speech_audio, is_web_ready, probe, remux_for_web, samples
from agents_meetings.media.segments import plan_segments
from agents_meetings.media.tools import discover

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

THREE_HOURS = 3 * 3600


def test_a_three_hour_recording_is_remuxed_and_its_audio_extracted(tmp_path: Path) -> None:
    tools = discover()
    chunk = samples.composite_mp4(tools, tmp_path / "chunk.mp4", seconds=600, size="160x90", fps=2, gop=20)
    listing = tmp_path / "chunks.txt"
    listing.write_text(f"file '{chunk}'\n" * (THREE_HOURS // 600))
    source = tmp_path / "three-hours.mp4"
    tools.run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(source)], what="loop")
    info = probe(tools, source)
    assert info.duration == pytest.approx(THREE_HOURS, abs=2)
    assert is_web_ready(info, "mp4")  # the pipeline plans a remux: no 3-hour encode

    web = probe(tools, remux_for_web(tools, source, tmp_path / "web.mp4", "mp4"))
    assert web.duration == pytest.approx(THREE_HOURS, abs=2)
    wav = probe(tools, extract_speech_audio(tools, source, tmp_path / "audio.wav"))
    assert wav.audio is not None and (wav.audio.sample_rate, wav.audio.channels) == (16000, 1)
    assert wav.duration == pytest.approx(THREE_HOURS, abs=2)
    # Were it not web-ready, its transcode would be 36 five-minute segments (unit-tested in detail).
    assert len(plan_segments(info.duration, 300)) == 36
