"""Typed media failures. The class name is what Step Functions sees as the error name (Retry and
Catch match on it); the message carries the tail of ffmpeg's stderr, which says what went wrong."""

from __future__ import annotations

STDERR_TAIL_CHARS = 1500


def stderr_tail(stderr: str | bytes | None, limit: int = STDERR_TAIL_CHARS) -> str:
    if stderr is None:
        return ""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    return text.strip()[-limit:]


class MediaError(Exception):
    """Any media processing failure."""

    def __init__(self, message: str, *, stderr: str = "") -> None:
        self.stderr_tail = stderr_tail(stderr)
        super().__init__(f"{message}: {self.stderr_tail}" if self.stderr_tail else message)
        self.summary = message


class FfmpegNotFound(MediaError):
    """No ffmpeg binary anywhere it is looked for (FFMPEG_PATH, PATH, imageio-ffmpeg)."""


class FfmpegFailed(MediaError):
    """ffmpeg or ffprobe exited with an error."""

    def __init__(self, message: str, *, returncode: int, stderr: str = "") -> None:
        super().__init__(f"{message} (exit {returncode})", stderr=stderr)
        self.returncode = returncode


class FfmpegTimedOut(MediaError):
    """ffmpeg ran longer than its deadline and was killed."""


class UnreadableMedia(MediaError):
    """The input is not a media file ffmpeg understands, or lacks the stream a step needs."""
