"""Renderings of a Transcript: TXT (speaker-labelled paragraphs), SRT, WebVTT and JSON.

Subtitles follow the usual broadcast limits: at most ``MAX_LINE_CHARS`` characters a line, two
lines and ``MAX_CUE_SECONDS`` a cue; a longer segment is split into several cues at word
boundaries, timed by its words (or, without word timings, in proportion to the characters).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from agents_meetings.transcription.model import Segment, Transcript

TranscriptFormat = Literal["txt", "srt", "vtt", "json"]
FORMATS: tuple[TranscriptFormat, ...] = ("txt", "srt", "vtt", "json")
CONTENT_TYPES: dict[str, str] = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}
MAX_LINE_CHARS = 42
MAX_LINES = 2
MAX_CUE_SECONDS = 7.0


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None


def speaker_label(speaker: str | None) -> str | None:
    if speaker is None or speaker == "":
        return None
    return f"Speaker {speaker}" if speaker.isdigit() else speaker


def timestamp(seconds: float, separator: str = ".") -> str:
    """HH:MM:SS.mmm (SRT: comma); hours keep counting past 99 rather than wrapping."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _timed_tokens(segment: Segment) -> list[tuple[str, float, float]]:
    if segment.words:
        return [(w.word, w.start, w.end) for w in segment.words if w.word.strip()]
    tokens = segment.text.split()
    if not tokens:
        return []
    # No word timings: share the segment's time out in proportion to each token's length.
    total = sum(len(token) + 1 for token in tokens)
    span = max(segment.end - segment.start, 0.0)
    timed, offset = [], 0
    for token in tokens:
        start = segment.start + span * offset / total
        offset += len(token) + 1
        timed.append((token, start, segment.start + span * offset / total))
    return timed


def _wrap(tokens: list[str]) -> list[str]:
    lines: list[str] = []
    for token in tokens:
        if lines and len(lines[-1]) + 1 + len(token) <= MAX_LINE_CHARS:
            lines[-1] = f"{lines[-1]} {token}"
        else:
            lines.append(token)
    return lines


def cues(transcript: Transcript) -> list[Cue]:
    """Subtitle cues: each fits MAX_LINES lines of MAX_LINE_CHARS and lasts at most MAX_CUE_SECONDS."""
    result: list[Cue] = []
    for segment in transcript.segments:
        pending: list[tuple[str, float, float]] = []
        for token in _timed_tokens(segment):
            candidate = [*pending, token]
            too_long = len(_wrap([t[0] for t in candidate])) > MAX_LINES
            too_slow = token[2] - candidate[0][1] > MAX_CUE_SECONDS
            if pending and (too_long or too_slow):
                result.append(_cue(pending, segment.speaker))
                pending = [token]
            else:
                pending = candidate
        if pending:
            result.append(_cue(pending, segment.speaker))
    return result


def _cue(tokens: list[tuple[str, float, float]], speaker: str | None) -> Cue:
    start, end = tokens[0][1], max(tokens[-1][2], tokens[0][1])
    return Cue(start=start, end=end, lines=tuple(_wrap([t[0] for t in tokens])), speaker=speaker)


def render_srt(transcript: Transcript) -> str:
    blocks = []
    for index, cue in enumerate(cues(transcript), start=1):
        label = speaker_label(cue.speaker)
        lines = list(cue.lines)
        if label:
            lines[0] = f"[{label}] {lines[0]}"
        blocks.append(f"{index}\n{timestamp(cue.start, ',')} --> {timestamp(cue.end, ',')}\n" + "\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(transcript: Transcript) -> str:
    blocks = ["WEBVTT"]
    for cue in cues(transcript):
        label = speaker_label(cue.speaker)
        lines = [_vtt_escape(line) for line in cue.lines]
        if label:
            lines[0] = f"<v {_vtt_escape(label)}>{lines[0]}"
        blocks.append(f"{timestamp(cue.start)} --> {timestamp(cue.end)}\n" + "\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def render_txt(transcript: Transcript) -> str:
    """One paragraph per run of segments by the same speaker, each opened by its time and speaker."""
    paragraphs: list[tuple[float, str | None, list[str]]] = []
    for segment in transcript.segments:
        if not segment.text.strip():
            continue
        if paragraphs and paragraphs[-1][1] == segment.speaker:
            paragraphs[-1][2].append(segment.text.strip())
        else:
            paragraphs.append((segment.start, segment.speaker, [segment.text.strip()]))
    out = []
    for start, speaker, texts in paragraphs:
        label = speaker_label(speaker)
        head = f"[{timestamp(start)[:8]}] " + (f"{label}: " if label else "")
        out.append(head + " ".join(texts))
    return "\n\n".join(out) + ("\n" if out else "")


def render_json(transcript: Transcript) -> str:
    return json.dumps(transcript.to_dict(), ensure_ascii=False, separators=(",", ":"))


def parse_json(text: str | bytes) -> Transcript:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("transcript JSON must be an object")
    return Transcript.from_dict(data)


RENDERERS: dict[str, Callable[[Transcript], str]] = {
    "txt": render_txt,
    "srt": render_srt,
    "vtt": render_vtt,
    "json": render_json,
}


def render(transcript: Transcript, fmt: str) -> bytes:
    return RENDERERS[fmt](transcript).encode("utf-8")
