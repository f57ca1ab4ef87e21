"""Where ffmpeg and ffprobe are, and running them with typed failures.

Order: FFMPEG_PATH / FFPROBE_PATH, then PATH (Debian's ffmpeg, or the Lambda image's), then the
static binary of PyPI's imageio-ffmpeg. imageio-ffmpeg ships no ffprobe: ``ffprobe`` is then None
and probing falls back to parsing ``ffmpeg -i``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from agents_meetings.media.errors import FfmpegFailed, FfmpegNotFound, FfmpegTimedOut
from agents_meetings.settings import get_settings


@dataclass(frozen=True)
class MediaTools:
    ffmpeg: str
    ffprobe: str | None
    origin: str  # "environment", "path" or "imageio-ffmpeg"

    def run_ffmpeg(self, arguments: list[str], *, what: str, timeout_seconds: float | None = None) -> str:
        """Run ffmpeg quietly; returns its stderr (ffmpeg reports there); raises on failure."""
        return _run([self.ffmpeg, "-hide_banner", "-nostdin", "-y", *arguments], what, timeout_seconds)[1]

    def run_ffprobe(self, arguments: list[str], *, what: str, timeout_seconds: float | None = None) -> str:
        if self.ffprobe is None:
            raise FfmpegNotFound("ffprobe is not available")
        return _run([self.ffprobe, "-hide_banner", *arguments], what, timeout_seconds)[0]


def _run(command: list[str], what: str, timeout_seconds: float | None) -> tuple[str, str]:
    try:
        completed = subprocess.run(  # noqa: S603 - argv list, no shell; paths come from configuration
            command, capture_output=True, timeout=timeout_seconds, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise FfmpegTimedOut(f"{what} timed out after {timeout_seconds}s", stderr=str(exc.stderr or "")) from exc
    except OSError as exc:
        raise FfmpegNotFound(f"{what}: cannot run {command[0]} ({exc})") from exc
    stdout = completed.stdout.decode("utf-8", "replace")
    stderr = completed.stderr.decode("utf-8", "replace")
    if completed.returncode != 0:
        raise FfmpegFailed(f"{what} failed", returncode=completed.returncode, stderr=stderr)
    return stdout, stderr


def _executable(path: str | None) -> str | None:
    if path and Path(path).is_file() and os.access(path, os.X_OK):
        return str(Path(path))
    return None


def discover(ffmpeg_path: str | None = None, ffprobe_path: str | None = None) -> MediaTools:
    """The tools to use, looked for in the documented order (see the module docstring)."""
    if ffmpeg_path:
        found = _executable(ffmpeg_path)
        if found is None:
            raise FfmpegNotFound(f"FFMPEG_PATH={ffmpeg_path} is not an executable file")
        probe = _executable(ffprobe_path) or _executable(str(Path(found).with_name("ffprobe")))
        return MediaTools(found, probe, "environment")
    on_path = shutil.which("ffmpeg")
    if on_path:
        return MediaTools(on_path, _executable(ffprobe_path) or shutil.which("ffprobe"), "path")
    try:
        import imageio_ffmpeg  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError as exc:
        raise FfmpegNotFound("ffmpeg not found: set FFMPEG_PATH, install ffmpeg, or install imageio-ffmpeg") from exc
    try:
        bundled = str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:  # imageio-ffmpeg raises RuntimeError when its binary is missing
        raise FfmpegNotFound(f"imageio-ffmpeg has no ffmpeg binary ({exc})") from exc
    return MediaTools(bundled, _executable(ffprobe_path), "imageio-ffmpeg")


@lru_cache(maxsize=4)
def _cached(ffmpeg_path: str | None, ffprobe_path: str | None) -> MediaTools:
    return discover(ffmpeg_path, ffprobe_path)


def find_media_tools() -> MediaTools:
    """The configured tools, found once per container."""
    settings = get_settings()
    return _cached(settings.ffmpeg_path, settings.ffprobe_path)


def reset_media_tools() -> None:
    _cached.cache_clear()
