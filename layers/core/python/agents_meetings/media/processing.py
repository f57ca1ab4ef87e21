"""The ffmpeg operations of recording post-processing, file in, file out.

Each builds an argument list and runs it through ``MediaTools`` (typed errors with ffmpeg's stderr
tail). Speeds on 2 cores are in the README; the pipeline chooses between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from agents_meetings.media.errors import FfmpegFailed, UnreadableMedia
from agents_meetings.media.probe import MediaInfo
from agents_meetings.media.tools import MediaTools

OutputFormat = Literal["mp4", "webm"]

# Codecs a browser plays in each container without a transcode.
WEB_CODECS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "mp4": (frozenset({"h264"}), frozenset({"aac"})),
    "webm": (frozenset({"vp8", "vp9"}), frozenset({"opus", "vorbis"})),
}
THUMBNAIL_WIDTH = 640
PREVIEW_TILE_WIDTH = 160
PREVIEW_COLUMNS = 5
PREVIEW_ROWS = 2
SPEECH_SAMPLE_RATE = 16_000


def _nonempty(path: Path, what: str, stderr: str) -> Path:
    if not path.is_file() or path.stat().st_size == 0:
        raise UnreadableMedia(f"{what} produced no output", stderr=stderr)
    return path


def is_web_ready(info: MediaInfo, output_format: OutputFormat) -> bool:
    """True when the file only needs a remux: the container and every stream are browser-playable."""
    video_codecs, audio_codecs = WEB_CODECS[output_format]
    if info.container != output_format:
        return False
    video, audio = info.video, info.audio
    if video is None and audio is None:
        return False
    return (video is None or video.codec in video_codecs) and (audio is None or audio.codec in audio_codecs)


def thumbnail_time(duration: float) -> float:
    """A frame a little into the recording (titles and black frames come first), never past its end."""
    if duration <= 0:
        return 0.0
    return round(min(max(duration * 0.1, 0.0), 30.0, max(duration - 0.5, 0.0)), 3)


def thumbnail(tools: MediaTools, source: Path, dest: Path, *, at_seconds: float, width: int = THUMBNAIL_WIDTH) -> Path:
    """One JPEG frame. ``-ss`` before ``-i`` seeks in the demuxer: cost is independent of length."""
    stderr = tools.run_ffmpeg(
        [
            "-ss",
            f"{at_seconds:.3f}",
            "-i",
            str(source),
            "-frames:v",
            "1",
            "-vf",
            f"scale={width}:-2",
            "-q:v",
            "3",
            str(dest),
        ],
        what="thumbnail",
        timeout_seconds=120,
    )
    return _nonempty(dest, "thumbnail", stderr)


def preview_strip(
    tools: MediaTools,
    source: Path,
    dest: Path,
    *,
    duration: float,
    columns: int = PREVIEW_COLUMNS,
    rows: int = PREVIEW_ROWS,
    tile_width: int = PREVIEW_TILE_WIDTH,
) -> Path:
    """A contact sheet of ``columns x rows`` frames spread over the recording, decoding keyframes only."""
    tiles = columns * rows
    interval = max(duration / tiles, 0.001)
    video_filter = (
        f"select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,{interval:.3f}),"
        f"scale={tile_width}:-2,tile={columns}x{rows}"
    )
    stderr = tools.run_ffmpeg(
        [
            "-skip_frame",
            "nokey",
            "-i",
            str(source),
            "-an",
            "-vf",
            video_filter,
            "-fps_mode",
            "vfr",
            "-frames:v",
            "1",
            "-q:v",
            "4",
            str(dest),
        ],
        what="preview strip",
        timeout_seconds=600,
    )
    return _nonempty(dest, "preview strip", stderr)


def remux_for_web(tools: MediaTools, source: Path, dest: Path, output_format: OutputFormat) -> Path:
    """Copy the streams into a fresh container (no re-encode); MP4 gets its index up front (+faststart)."""
    arguments = ["-i", str(source), "-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy"]
    if output_format == "mp4":
        arguments += ["-movflags", "+faststart", "-f", "mp4"]
    else:
        arguments += ["-f", "webm"]
    stderr = tools.run_ffmpeg([*arguments, str(dest)], what="web remux", timeout_seconds=840)
    return _nonempty(dest, "web remux", stderr)


def keyframe_times(tools: MediaTools, source: Path) -> list[float]:
    """Presentation times of the first video stream's keyframes, from packet flags (no decoding).
    Empty without ffprobe (imageio-ffmpeg) or video: segments then cut at exact times instead."""
    if tools.ffprobe is None:
        return []
    try:
        output = tools.run_ffprobe(
            [
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "packet=pts_time,flags",
                "-of",
                "csv=p=0",
                str(source),
            ],
            what="keyframe scan",
            timeout_seconds=300,
        )
    except FfmpegFailed:
        return []
    times = []
    for line in output.splitlines():
        parts = line.strip().split(",")
        if len(parts) >= 2 and "K" in parts[1] and parts[0] not in {"", "N/A"}:
            times.append(float(parts[0]))
    return sorted(times)


def _video_encoder(output_format: OutputFormat, threads: int) -> list[str]:
    if output_format == "mp4":
        return ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-threads", str(threads)]
    return [
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-row-mt",
        "1",
        "-b:v",
        "0",
        "-crf",
        "33",
        "-pix_fmt",
        "yuv420p",
        "-threads",
        str(threads),
    ]


def _audio_encoder(output_format: OutputFormat) -> list[str]:
    if output_format == "mp4":
        return ["-c:a", "aac", "-b:a", "128k", "-ar", "48000"]
    return ["-c:a", "libopus", "-b:a", "96k", "-ar", "48000"]


def transcode_segment(
    tools: MediaTools,
    source: Path,
    dest: Path,
    *,
    start: float,
    duration: float | None,
    output_format: OutputFormat,
    threads: int = 2,
) -> Path:
    """Encode the video of ``[start, start+duration)`` (to the end when None) as H.264 or VP9.

    Video only: audio is encoded once, whole, at the join (AAC and Opus add encoder priming to every
    piece, which would drift the sound against the picture at each boundary).
    """
    arguments = ["-ss", f"{start:.6f}", "-i", str(source)]
    if duration is not None:
        arguments += ["-t", f"{duration:.6f}"]
    arguments += ["-map", "0:v:0", "-an", *_video_encoder(output_format, threads)]
    arguments += ["-f", "mp4" if output_format == "mp4" else "webm", str(dest)]
    stderr = tools.run_ffmpeg(arguments, what=f"transcode of segment at {start:.1f}s", timeout_seconds=840)
    return _nonempty(dest, "segment transcode", stderr)


def join_segments(
    tools: MediaTools,
    segments: Sequence[Path],
    audio_source: Path | None,
    dest: Path,
    *,
    output_format: OutputFormat,
    list_file: Path,
) -> Path:
    """Concatenate video segments (concat demuxer, no re-encode) and add the whole audio, encoded once."""
    if not segments and audio_source is None:
        raise UnreadableMedia("nothing to join")
    arguments: list[str] = []
    maps: list[str] = []
    if segments:
        list_file.write_text("".join(f"file '{path.resolve()}'\n" for path in segments))
        arguments += ["-f", "concat", "-safe", "0", "-i", str(list_file)]
        maps += ["-map", "0:v:0"]
    if audio_source is not None:
        arguments += ["-i", str(audio_source)]
        maps += ["-map", f"{1 if segments else 0}:a:0?"]
    arguments += [*maps, "-c:v", "copy", *_audio_encoder(output_format)]
    if output_format == "mp4":
        arguments += ["-movflags", "+faststart", "-f", "mp4"]
    else:
        arguments += ["-f", "webm"]
    stderr = tools.run_ffmpeg([*arguments, str(dest)], what="join", timeout_seconds=840)
    return _nonempty(dest, "join", stderr)


def extract_speech_audio(tools: MediaTools, source: Path, dest: Path) -> Path:
    """The first audio stream as 16 kHz mono 16-bit PCM WAV (what speech recognisers take)."""
    stderr = tools.run_ffmpeg(
        [
            "-i",
            str(source),
            "-map",
            "0:a:0",
            "-vn",
            "-ac",
            "1",
            "-ar",
            str(SPEECH_SAMPLE_RATE),
            "-c:a",
            "pcm_s16le",
            "-f",
            "wav",
            str(dest),
        ],
        what="audio extraction",
        timeout_seconds=840,
    )
    return _nonempty(dest, "audio extraction", stderr)
