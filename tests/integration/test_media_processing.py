"""The ffmpeg operations on real, generated media (test pattern + espeak-ng speech, seconds long)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from agents_meetings.media import (
    FfmpegFailed,
    FfmpegNotFound,
    MediaTools,
    UnreadableMedia,
    extract_speech_audio,
    is_web_ready,
    join_segments,
    plan_segments,
    preview_strip,
    probe,
    remux_for_web,
    samples,
    thumbnail,
    transcode_segment,
)
from agents_meetings.media.processing import keyframe_times, thumbnail_time
from agents_meetings.media.tools import discover

pytestmark = pytest.mark.integration

SECONDS = 8


@pytest.fixture(scope="module")
def tools() -> MediaTools:
    return discover()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, tools: MediaTools) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    speech = samples.speech_wav("Good morning class. Today we study fractions.", root / "en.wav")
    return {
        "mp4": samples.composite_mp4(tools, root / "composite.mp4", seconds=SECONDS, speech=speech),
        "webm": samples.composite_webm(tools, root / "composite.webm", seconds=SECONDS),
        "ogg": samples.audio_track_ogg(tools, root / "en.ogg", speech=speech, seconds=SECONDS),
    }


def _moov_before_mdat(path: Path) -> bool:
    data = path.read_bytes()
    return 0 <= data.find(b"moov") < data.find(b"mdat")


def test_probe_reports_duration_container_and_codecs(tools: MediaTools, media: dict[str, Path]) -> None:
    info = probe(tools, media["mp4"])
    assert info.duration == pytest.approx(SECONDS, abs=0.2)
    assert (info.container, info.video and info.video.codec, info.audio and info.audio.codec) == ("mp4", "h264", "aac")
    assert (info.video and info.video.width, info.video and info.video.height) == (320, 240)
    ogg = probe(tools, media["ogg"])
    assert (ogg.container, ogg.video, ogg.audio and ogg.audio.codec) == ("ogg", None, "opus")


def test_probe_without_ffprobe_parses_ffmpeg_output_alike(tools: MediaTools, media: dict[str, Path]) -> None:
    """imageio-ffmpeg ships no ffprobe: the fallback must describe files the same way."""
    only_ffmpeg = MediaTools(tools.ffmpeg, None, "imageio-ffmpeg")
    for name in ("mp4", "webm", "ogg"):
        with_probe, without = probe(tools, media[name]), probe(only_ffmpeg, media[name])
        assert without.container == with_probe.container
        assert without.duration == pytest.approx(with_probe.duration, abs=0.05)
        assert [(s.kind, s.codec) for s in without.streams] == [(s.kind, s.codec) for s in with_probe.streams]


def test_garbage_is_unreadable_media(tools: MediaTools, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(UnreadableMedia) as raised:
        probe(tools, junk)
    assert "Invalid data" in raised.value.stderr_tail
    with pytest.raises(UnreadableMedia):
        probe(MediaTools(tools.ffmpeg, None, "imageio-ffmpeg"), junk)


def test_web_readiness_decides_remux_or_transcode(tools: MediaTools, media: dict[str, Path]) -> None:
    mp4, webm, ogg = (probe(tools, media[n]) for n in ("mp4", "webm", "ogg"))
    assert is_web_ready(mp4, "mp4") and not is_web_ready(mp4, "webm")
    assert is_web_ready(webm, "webm") and not is_web_ready(webm, "mp4")
    assert not is_web_ready(ogg, "mp4")


def test_thumbnail_is_one_scaled_jpeg_frame(tools: MediaTools, media: dict[str, Path], tmp_path: Path) -> None:
    image = thumbnail(tools, media["mp4"], tmp_path / "t.jpg", at_seconds=thumbnail_time(SECONDS), width=160)
    info = probe(tools, image)
    assert info.video is not None and (info.video.codec, info.video.width, info.video.height) == ("mjpeg", 160, 120)


def test_preview_strip_is_a_contact_sheet_of_keyframes(
    tools: MediaTools, media: dict[str, Path], tmp_path: Path
) -> None:
    image = preview_strip(tools, media["mp4"], tmp_path / "p.jpg", duration=SECONDS, columns=4, rows=1, tile_width=80)
    info = probe(tools, image)
    assert info.video is not None and (info.video.width, info.video.height) == (320, 60)


def test_remux_puts_the_index_first_without_reencoding(
    tools: MediaTools, media: dict[str, Path], tmp_path: Path
) -> None:
    assert not _moov_before_mdat(media["mp4"])  # egress-style: index at the end
    web = remux_for_web(tools, media["mp4"], tmp_path / "web.mp4", "mp4")
    assert _moov_before_mdat(web)
    before, after = probe(tools, media["mp4"]), probe(tools, web)
    assert [(s.kind, s.codec) for s in after.streams] == [(s.kind, s.codec) for s in before.streams]
    assert after.duration == pytest.approx(before.duration, abs=0.1)
    webm = remux_for_web(tools, media["webm"], tmp_path / "web.webm", "webm")
    assert probe(tools, webm).container == "webm"


@pytest.mark.parametrize(
    ("source", "output_format", "video_codec", "audio_codec"),
    [
        ("webm", "mp4", "h264", "aac"),
        ("mp4", "webm", "vp9", "opus"),
    ],
)
def test_segmented_transcode_joins_into_one_web_file(
    tools: MediaTools,
    media: dict[str, Path],
    tmp_path: Path,
    source: str,
    output_format: str,
    video_codec: str,
    audio_codec: str,
) -> None:
    path = media[source]
    segments = plan_segments(probe(tools, path).duration, 3, keyframe_times(tools, path))
    assert len(segments) >= 2
    parts = [
        transcode_segment(
            tools,
            path,
            tmp_path / f"{s.name}.{output_format}",
            start=s.start,
            duration=s.duration,
            output_format=output_format,  # type: ignore[arg-type]
        )
        for s in segments
    ]
    joined = join_segments(
        tools,
        parts,
        path,
        tmp_path / f"out.{output_format}",
        output_format=output_format,  # type: ignore[arg-type]
        list_file=tmp_path / "list.txt",
    )
    info = probe(tools, joined)
    assert (info.video and info.video.codec, info.audio and info.audio.codec) == (video_codec, audio_codec)
    assert info.duration == pytest.approx(SECONDS, abs=0.25)
    assert is_web_ready(info, output_format)  # type: ignore[arg-type]


def test_speech_audio_is_16khz_mono_pcm(tools: MediaTools, media: dict[str, Path], tmp_path: Path) -> None:
    for name in ("mp4", "ogg"):
        wav = extract_speech_audio(tools, media[name], tmp_path / f"{name}.wav")
        info = probe(tools, wav)
        assert info.audio is not None
        assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("pcm_s16le", 16000, 1)
        assert info.duration == pytest.approx(SECONDS, abs=0.1)


def test_an_ffmpeg_failure_carries_its_stderr_tail(tools: MediaTools, media: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(FfmpegFailed) as raised:
        extract_speech_audio(tools, media["webm"].with_name("missing.webm"), tmp_path / "x.wav")
    assert raised.value.returncode != 0
    assert "No such file or directory" in raised.value.stderr_tail
    assert "No such file or directory" in str(raised.value)


def test_discovery_order(tools: MediaTools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\nexec {tools.ffmpeg} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    configured = discover(str(wrapper), None)
    assert (configured.ffmpeg, configured.origin) == (str(wrapper), "environment")
    with pytest.raises(FfmpegNotFound, match="FFMPEG_PATH"):
        discover(str(tmp_path / "nope"), None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        with pytest.raises(FfmpegNotFound):
            discover()
    else:
        bundled = discover()
        assert bundled.origin == "imageio-ffmpeg" and bundled.ffprobe is None
        assert os.access(bundled.ffmpeg, os.X_OK)


def test_the_pypi_ffmpeg_alone_does_every_operation(media: dict[str, Path], tmp_path: Path) -> None:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    bundled = MediaTools(imageio_ffmpeg.get_ffmpeg_exe(), None, "imageio-ffmpeg")
    info = probe(bundled, media["mp4"])
    assert is_web_ready(info, "mp4")
    assert _moov_before_mdat(remux_for_web(bundled, media["mp4"], tmp_path / "w.mp4", "mp4"))
    assert thumbnail(bundled, media["mp4"], tmp_path / "t.jpg", at_seconds=1).stat().st_size > 0
    assert preview_strip(bundled, media["mp4"], tmp_path / "p.jpg", duration=info.duration).stat().st_size > 0
    wav = probe(bundled, extract_speech_audio(bundled, media["ogg"], tmp_path / "a.wav"))
    assert wav.audio is not None and (wav.audio.sample_rate, wav.audio.channels) == (16000, 1)
