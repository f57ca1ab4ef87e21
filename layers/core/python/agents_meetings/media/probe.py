"""What a media file holds: duration, container and streams (codec, size, rate).

ffprobe's JSON when ffprobe exists; otherwise (imageio-ffmpeg ships only ffmpeg) the stream lines
``ffmpeg -i`` prints. Containers without a duration in their header (live-written WebM) are
measured by reading the packets once (``-c copy -f null``, no decoding).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents_meetings.media.errors import FfmpegFailed, FfmpegTimedOut, UnreadableMedia
from agents_meetings.media.tools import MediaTools

PROBE_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class StreamInfo:
    index: int
    kind: str  # video | audio | subtitle | data
    codec: str
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    format_names: tuple[str, ...]  # ffmpeg's demuxer names, e.g. ("mov", "mp4", ...) or ("matroska", "webm")
    streams: tuple[StreamInfo, ...] = field(default_factory=tuple)
    size_bytes: int = 0

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "audio"), None)

    @property
    def container(self) -> str:
        names = set(self.format_names)
        if "mp4" in names or "mov" in names:
            return "mp4"
        if "webm" in names or "matroska" in names:
            return "webm"
        if "ogg" in names:
            return "ogg"
        return self.format_names[0] if self.format_names else "unknown"

    def as_dict(self) -> dict[str, Any]:
        video, audio = self.video, self.audio
        return {
            "duration": round(self.duration, 3),
            "container": self.container,
            "size": self.size_bytes,
            "video_codec": video.codec if video else None,
            "audio_codec": audio.codec if audio else None,
            "width": video.width if video else None,
            "height": video.height if video else None,
        }


def _fraction(value: str | None) -> float | None:
    if not value or value in {"0/0", "N/A"}:
        return None
    if "/" in value:
        numerator, denominator = value.split("/", 1)
        return float(numerator) / float(denominator) if float(denominator) else None
    return float(value)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _from_ffprobe(tools: MediaTools, path: Path) -> MediaInfo:
    try:
        output = tools.run_ffprobe(
            ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
            what=f"probe of {path.name}",
            timeout_seconds=PROBE_TIMEOUT_SECONDS,
        )
    except FfmpegFailed as exc:
        raise UnreadableMedia(f"{path.name} is not a media file ffprobe can read", stderr=exc.stderr_tail) from exc
    document = json.loads(output or "{}")
    form = document.get("format") or {}
    streams = tuple(
        StreamInfo(
            index=int(item.get("index", position)),
            kind=str(item.get("codec_type", "data")),
            codec=str(item.get("codec_name", "unknown")),
            width=_int(item.get("width")),
            height=_int(item.get("height")),
            frame_rate=_fraction(item.get("avg_frame_rate")) or _fraction(item.get("r_frame_rate")),
            sample_rate=_int(item.get("sample_rate")),
            channels=_int(item.get("channels")),
        )
        for position, item in enumerate(document.get("streams") or [])
    )
    durations = [_fraction(form.get("duration"))] + [_fraction(s.get("duration")) for s in document.get("streams", [])]
    duration = max((d for d in durations if d), default=0.0)
    names = tuple(str(form.get("format_name", "")).split(",")) if form.get("format_name") else ()
    return MediaInfo(duration=duration, format_names=names, streams=streams, size_bytes=path.stat().st_size)


_INPUT = re.compile(r"^Input #0, (?P<formats>[^ ]+), from", re.MULTILINE)
_DURATION = re.compile(r"Duration: (?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)")
_STREAM = re.compile(
    r"^\s*Stream #0:(?P<index>\d+)[^:]*: (?P<kind>Video|Audio|Subtitle|Data): (?P<rest>.*)$", re.MULTILINE
)
_SIZE = re.compile(r"(?<![0-9x])(?P<w>\d{2,5})x(?P<h>\d{2,5})(?![0-9])")
_FPS = re.compile(r"(?P<fps>\d+(?:\.\d+)?) fps")
_RATE = re.compile(r"(?P<hz>\d+) Hz")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "5.1": 6, "5.1(side)": 6, "7.1": 8}
_TIME = re.compile(r"time=(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)")


def _seconds(match: re.Match[str]) -> float:
    return int(match["h"]) * 3600 + int(match["m"]) * 60 + float(match["s"])


def parse_ffmpeg_banner(stderr: str) -> tuple[tuple[str, ...], float, tuple[StreamInfo, ...]]:
    """Formats, header duration (0 when N/A) and streams from the text ``ffmpeg -i`` prints."""
    found = _INPUT.search(stderr)
    if not found:
        raise UnreadableMedia("not a media file ffmpeg can read", stderr=stderr)
    duration_match = _DURATION.search(stderr)
    duration = _seconds(duration_match) if duration_match else 0.0
    streams = []
    for match in _STREAM.finditer(stderr):
        rest = match["rest"]
        codec = rest.split(",", 1)[0].split(" ", 1)[0].strip()
        size = _SIZE.search(rest) if match["kind"] == "Video" else None
        fps = _FPS.search(rest)
        rate = _RATE.search(rest)
        layout = next((_LAYOUT_CHANNELS[p.strip()] for p in rest.split(",") if p.strip() in _LAYOUT_CHANNELS), None)
        streams.append(
            StreamInfo(
                index=int(match["index"]),
                kind=match["kind"].lower(),
                codec=codec,
                width=int(size["w"]) if size else None,
                height=int(size["h"]) if size else None,
                frame_rate=float(fps["fps"]) if fps else None,
                sample_rate=int(rate["hz"]) if rate else None,
                channels=layout,
            )
        )
    return tuple(found["formats"].split(",")), duration, tuple(streams)


def _from_ffmpeg_banner(tools: MediaTools, path: Path) -> MediaInfo:
    try:
        # Without an output ffmpeg prints the input's description and exits 1: expected here.
        completed = subprocess.run(  # noqa: S603 - argv list, no shell
            [tools.ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FfmpegTimedOut(f"probe of {path.name} timed out") from exc
    formats, duration, streams = parse_ffmpeg_banner(completed.stderr.decode("utf-8", "replace"))
    return MediaInfo(duration=duration, format_names=formats, streams=streams, size_bytes=path.stat().st_size)


def measure_duration(tools: MediaTools, path: Path) -> float:
    """Duration by reading every packet (no decoding): for files whose header has none."""
    stderr = tools.run_ffmpeg(
        ["-i", str(path), "-map", "0", "-c", "copy", "-f", "null", "-"],
        what=f"duration scan of {path.name}",
        timeout_seconds=PROBE_TIMEOUT_SECONDS * 5,
    )
    times = list(_TIME.finditer(stderr))
    return _seconds(times[-1]) if times else 0.0


def probe(tools: MediaTools, path: Path) -> MediaInfo:
    """Describe ``path``; raises UnreadableMedia if it holds no audio or video stream."""
    if not path.is_file():
        raise UnreadableMedia(f"{path.name} does not exist")
    info = _from_ffprobe(tools, path) if tools.ffprobe else _from_ffmpeg_banner(tools, path)
    if not any(s.kind in {"video", "audio"} for s in info.streams):
        raise UnreadableMedia(f"{path.name} has no audio or video stream")
    if info.duration <= 0:
        info = MediaInfo(measure_duration(tools, path), info.format_names, info.streams, info.size_bytes)
    return info
