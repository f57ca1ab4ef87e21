"""Synthetic recordings made with ffmpeg (test pattern) and espeak-ng (speech): what LiveKit egress
writes, for tests, benchmarks and local runs with no LiveKit. Real media, seconds to make."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from agents_meetings.media.tools import MediaTools

# espeak-ng voices of the platform's meeting languages.
VOICES = {"en": "en", "es": "es", "fr": "fr", "hi": "hi", "ta": "ta", "te": "te", "de": "de"}


def speech_wav(text: str, dest: Path, *, language: str = "en") -> Path:
    """Spoken ``text`` as WAV (espeak-ng); silence from ffmpeg when espeak-ng is missing."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise FileNotFoundError("espeak-ng is not installed (Makefile test-tools installs it)")
    subprocess.run(  # noqa: S603 - argv list
        [espeak, "-v", VOICES.get(language, "en"), "-s", "160", "-w", str(dest), text], check=True, capture_output=True
    )
    return dest


def composite_mp4(
    tools: MediaTools,
    dest: Path,
    *,
    seconds: float,
    speech: Path | None = None,
    size: str = "320x240",
    fps: int = 15,
    gop: int | None = None,
) -> Path:
    """A room composite as egress writes it: H.264 + AAC in MP4 (index at the end, not faststart)."""
    audio = ["-i", str(speech)] if speech else ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    tools.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate={fps}",
            *audio,
            "-filter_complex",
            f"[1:a]apad,atrim=0:{seconds},aresample=48000[a]",
            "-map",
            "0:v",
            "-map",
            "[a]",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            str(gop or fps * 2),
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            str(dest),
        ],
        what="sample composite",
    )
    return dest


def composite_webm(tools: MediaTools, dest: Path, *, seconds: float, size: str = "320x240", fps: int = 15) -> Path:
    """A composite in WebM (VP8 + Opus), as egress writes when WebM is chosen."""
    tools.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate={fps}",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330",
            "-t",
            str(seconds),
            "-c:v",
            "libvpx",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-b:v",
            "300k",
            "-c:a",
            "libopus",
            str(dest),
        ],
        what="sample webm",
    )
    return dest


def audio_track_ogg(tools: MediaTools, dest: Path, *, speech: Path, seconds: float) -> Path:
    """A per-language audio-only egress: Opus in OGG."""
    tools.run_ffmpeg(
        ["-i", str(speech), "-af", f"apad,atrim=0:{seconds}", "-c:a", "libopus", "-b:a", "32k", str(dest)],
        what="sample audio track",
    )
    return dest
