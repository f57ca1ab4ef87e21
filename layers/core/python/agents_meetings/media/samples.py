"""Synthetic recordings made with ffmpeg (test pattern) and espeak-ng (speech): what LiveKit egress
writes, for tests, benchmarks and the local LiveKit emulator (``egress_file``). Real media, seconds
to make."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from agents_meetings.media.tools import MediaTools

# espeak-ng voices of the platform's meeting languages.
VOICES = {"en": "en", "es": "es", "fr": "fr", "hi": "hi", "ta": "ta", "te": "te", "de": "de"}
# One sentence per language the platform records: what an emulated egress says, in turn.
SENTENCES = {
    "en": "Welcome to the algebra lesson. Today we solve linear equations together.",
    "es": "Bienvenidos a la clase de álgebra. Hoy resolvemos ecuaciones lineales juntos.",
    "fr": "Bienvenue au cours d'algèbre. Aujourd'hui nous résolvons des équations linéaires.",
    "hi": "बीजगणित की कक्षा में आपका स्वागत है। आज हम रैखिक समीकरण हल करेंगे।",
    "ta": "இயற்கணித வகுப்புக்கு வரவேற்கிறோம். இன்று நாம் நேரியல் சமன்பாடுகளைத் தீர்ப்போம்.",
    "te": "బీజగణిత తరగతికి స్వాగతం. ఈ రోజు మనం రేఖీయ సమీకరణాలను పరిష్కరిస్తాము.",
}


def speech_wav(text: str, dest: Path, *, language: str = "en", words_per_minute: int = 160) -> Path:
    """Spoken ``text`` as WAV (espeak-ng)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise FileNotFoundError("espeak-ng is not installed (Makefile test-tools installs it)")
    voice = VOICES.get(language, "en")
    subprocess.run(  # noqa: S603 - argv list
        [espeak, "-v", voice, "-s", str(words_per_minute), "-w", str(dest), text], check=True, capture_output=True
    )
    return dest


def sentences_wav(tools: MediaTools, folder: Path, languages: list[str], *, words_per_minute: int = 150) -> Path:
    """One WAV in ``folder`` saying a sentence per language (``SENTENCES``), in turn."""
    parts = []
    for index, language in enumerate(languages):
        known = language if language in SENTENCES else "en"
        dest = folder / f"speech-{index}.wav"
        parts.append(speech_wav(SENTENCES[known], dest, language=known, words_per_minute=words_per_minute))
    if len(parts) == 1:
        return parts[0]
    combined = folder / "speech.wav"
    inputs = [arg for part in parts for arg in ("-i", str(part))]
    joined = "".join(f"[{i}:a]" for i in range(len(parts))) + f"concat=n={len(parts)}:v=0:a=1[a]"
    tools.run_ffmpeg([*inputs, "-filter_complex", joined, "-map", "[a]", str(combined)], what="sample speech")
    return combined


def egress_file(tools: MediaTools, dest: Path, *, seconds: float, languages: list[str], audio_only: bool) -> Path:
    """The file an egress would have written to ``dest``: test pattern + a sentence per language,
    the container from the extension (MP4 with its index first, WebM, or audio-only OGG/MP3)."""
    extension = dest.suffix.lstrip(".").lower()
    spoken = sentences_wav(tools, dest.parent, languages or ["en"])
    if audio_only or extension in ("ogg", "mp3"):
        return audio_track_ogg(tools, dest, speech=spoken, seconds=seconds, bitrate="48k")
    if extension == "webm":
        return composite_webm(tools, dest, seconds=seconds, speech=spoken, size="640x360", fps=25, bitrate="600k")
    return composite_mp4(tools, dest, seconds=seconds, speech=spoken, size="640x360", fps=25, faststart=True)


def composite_mp4(
    tools: MediaTools,
    dest: Path,
    *,
    seconds: float,
    speech: Path | None = None,
    size: str = "320x240",
    fps: int = 15,
    gop: int | None = None,
    faststart: bool = False,
) -> Path:
    """A room composite as egress writes it: H.264 + AAC in MP4 (index at the end unless ``faststart``)."""
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
            *(["-movflags", "+faststart"] if faststart else []),
            str(dest),
        ],
        what="sample composite",
    )
    return dest


def composite_webm(
    tools: MediaTools,
    dest: Path,
    *,
    seconds: float,
    speech: Path | None = None,
    size: str = "320x240",
    fps: int = 15,
    bitrate: str = "300k",
) -> Path:
    """A composite in WebM (VP8 + Opus), as egress writes when WebM is chosen."""
    audio = (
        ["-i", str(speech), "-filter_complex", f"[1:a]apad,atrim=0:{seconds}[a]", "-map", "0:v", "-map", "[a]"]
        if speech
        else ["-f", "lavfi", "-i", "sine=frequency=330"]
    )
    tools.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate={fps}",
            *audio,
            "-t",
            str(seconds),
            "-c:v",
            "libvpx",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-b:v",
            bitrate,
            "-c:a",
            "libopus",
            str(dest),
        ],
        what="sample webm",
    )
    return dest


def audio_track_ogg(tools: MediaTools, dest: Path, *, speech: Path, seconds: float, bitrate: str = "32k") -> Path:
    """A per-language audio-only egress: Opus in OGG (MP3 when ``dest`` ends in .mp3)."""
    codec = ["-c:a", "libmp3lame"] if dest.suffix.lower() == ".mp3" else ["-c:a", "libopus", "-b:a", bitrate]
    tools.run_ffmpeg(
        ["-i", str(speech), "-af", f"apad,atrim=0:{seconds}", "-ar", "48000", *codec, str(dest)],
        what="sample audio track",
    )
    return dest
