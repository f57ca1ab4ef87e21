"""Recording post-processing speed as a multiple of real time, on a synthetic recording.

A 10-minute room composite (H.264/AAC MP4 as egress writes it: test pattern + espeak-ng speech,
made by looping a one-minute chunk with stream copy) goes through each ffmpeg step of the pipeline:
probe, thumbnail, keyframe preview strip, faststart remux, 16 kHz audio extraction, and a full
H.264 transcode, segmented and run in parallel vs one process (the baseline). Goal: > 10x real time
for thumbnail + MP4 (remux path) + audio. Then a 3-hour recording (low resolution, cheap to make)
is remuxed and its audio extracted, proving a long meeting fits Lambda's 15-minute cap.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents_meetings.media import probe, samples
from agents_meetings.media import processing as media
from agents_meetings.media.segments import plan_segments
from agents_meetings.media.tools import MediaTools, discover

from bench.environment import guard_process, load_average
from bench.timing import format_table

DEFAULT_MINUTES = 10.0
DEFAULT_HEIGHT = 720
DEFAULT_SEGMENT_SECONDS = 60
DEFAULT_LONG_HOURS = 3.0
LAMBDA_CAP_SECONDS = 900


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    media_seconds: float

    @property
    def realtime(self) -> float:
        return self.media_seconds / self.seconds if self.seconds else float("inf")


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def looped_composite(tools: MediaTools, work: Path, *, seconds: float, height: int, fps: int, chunk: float) -> Path:
    """A composite of ``seconds`` made from one ``chunk``-second piece repeated (stream copy: cheap)."""
    speech = samples.speech_wav(
        "Good morning everyone. Let us review the quarterly numbers and the plan for the next term.",
        work / "speech.wav",
    )
    piece = samples.composite_mp4(
        tools, work / "chunk.mp4", seconds=chunk, speech=speech, size=f"{height * 16 // 9}x{height}", fps=fps
    )
    repeats = max(1, round(seconds / chunk))
    listing = work / "chunks.txt"
    listing.write_text(f"file '{piece}'\n" * repeats)
    out = work / f"composite-{height}p-{repeats}x{chunk:g}s.mp4"
    tools.run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out)], what="loop")
    return out


def segmented_transcode(
    tools: MediaTools, source: Path, work: Path, *, segment_seconds: float, workers: int, duration: float
) -> Path:
    """The pipeline's transcode path: segments on keyframes, encoded ``workers`` at a time, joined."""
    segments = plan_segments(duration, segment_seconds, media.keyframe_times(tools, source))
    threads = max(1, (os.cpu_count() or 1) // workers)
    parts_dir = work / f"parts-{segment_seconds:g}"
    parts_dir.mkdir(exist_ok=True)

    def encode(segment: Any) -> Path:
        return media.transcode_segment(
            tools,
            source,
            parts_dir / f"{segment.name}.mp4",
            start=segment.start,
            duration=segment.duration,
            output_format="mp4",
            threads=threads,
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(encode, segments))
    return media.join_segments(
        tools,
        parts,
        source,
        work / f"joined-{segment_seconds:g}.mp4",
        output_format="mp4",
        list_file=parts_dir / "list.txt",
    )


def measure(
    *, minutes: float, height: int, segment_seconds: int, long_hours: float, transcode: bool = True
) -> tuple[list[Step], list[Step], dict[str, Any]]:
    guard_process()  # ffmpeg and espeak-ng on local files only: no AWS, no network
    tools = discover()
    work = Path(tempfile.mkdtemp(prefix="bench-recording-"))
    try:
        made, source = timed(
            lambda: looped_composite(tools, work, seconds=minutes * 60, height=height, fps=25, chunk=60)
        )
        info = probe(tools, source)
        length = info.duration
        steps = [
            Step("probe", timed(lambda: probe(tools, source))[0], length),
            Step(
                "thumbnail (seek before input)",
                timed(lambda: media.thumbnail(tools, source, work / "t.jpg", at_seconds=media.thumbnail_time(length)))[
                    0
                ],
                length,
            ),
            Step(
                "preview strip (keyframes only)",
                timed(lambda: media.preview_strip(tools, source, work / "p.jpg", duration=length))[0],
                length,
            ),
            Step(
                "remux +faststart (MP4)",
                timed(lambda: media.remux_for_web(tools, source, work / "w.mp4", "mp4"))[0],
                length,
            ),
            Step(
                "audio -> 16 kHz mono WAV",
                timed(lambda: media.extract_speech_audio(tools, source, work / "a.wav"))[0],
                length,
            ),
        ]
        fast_path = sum(s.seconds for s in steps if s.name.split(" ")[0] in {"thumbnail", "remux", "audio"})
        steps.append(Step("thumbnail + MP4 remux + audio", fast_path, length))
        transcodes: list[Step] = []
        if transcode:
            cpus = os.cpu_count() or 1
            single, _ = timed(
                lambda: segmented_transcode(tools, source, work, segment_seconds=length + 1, workers=1, duration=length)
            )
            transcodes.append(Step("H.264 transcode, one process (baseline)", single, length))
            parallel, _ = timed(
                lambda: segmented_transcode(
                    tools, source, work, segment_seconds=segment_seconds, workers=cpus, duration=length
                )
            )
            transcodes.append(Step(f"H.264 transcode, {segment_seconds}s segments x{cpus} parallel", parallel, length))
        for leftover in work.glob("*.mp4"):
            if leftover != source:
                leftover.unlink()
        long_steps: list[Step] = []
        long_info: dict[str, Any] = {}
        if long_hours > 0:
            long_made, long_source = timed(
                lambda: looped_composite(tools, work, seconds=long_hours * 3600, height=120, fps=5, chunk=600)
            )
            long_length = probe(tools, long_source).duration
            long_steps = [
                Step(
                    f"{long_hours:g} h remux +faststart",
                    timed(lambda: media.remux_for_web(tools, long_source, work / "long-web.mp4", "mp4"))[0],
                    long_length,
                ),
                Step(
                    f"{long_hours:g} h audio -> WAV",
                    timed(lambda: media.extract_speech_audio(tools, long_source, work / "long.wav"))[0],
                    long_length,
                ),
            ]
            long_info = {
                "duration": long_length,
                "web_duration": probe(tools, work / "long-web.mp4").duration,
                "size_mb": long_source.stat().st_size / 1e6,
                "made_s": long_made,
                "segments": len(plan_segments(long_length, 300)),
            }
        return steps, transcodes, {"made_s": made, "info": info, "long": long_info, "long_steps": long_steps}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(steps: list[Step], transcodes: list[Step], extra: dict[str, Any], *, minutes: float, height: int) -> str:
    info = extra["info"]
    print("recording_pipeline: post-processing a synthetic recording with ffmpeg")
    print(
        f"  source: {info.duration:.0f} s {info.video.width}x{info.video.height} H.264/AAC MP4, "
        f"{info.size_bytes / 1e6:.1f} MB (made in {extra['made_s']:.1f} s); {os.cpu_count()} cores; "
        f"load average {load_average()}"
    )
    rows = [[s.name, f"{s.seconds:.2f}", f"{s.realtime:.1f}x"] for s in [*steps, *transcodes]]
    print(format_table(["step", "seconds", "x real time"], rows))
    long = extra["long"]
    if long:
        print(
            f"  long meeting: {long['duration'] / 3600:.2f} h at 213x120 5 fps, {long['size_mb']:.0f} MB "
            f"(made in {long['made_s']:.1f} s); web copy {long['web_duration'] / 3600:.2f} h; "
            f"a transcode would be {long['segments']} segments of 300 s"
        )
        long_rows = [
            [s.name, f"{s.seconds:.2f}", f"{s.realtime:.0f}x", "fits" if s.seconds < LAMBDA_CAP_SECONDS else "EXCEEDS"]
            for s in extra["long_steps"]
        ]
        print(format_table(["step", "seconds", "x real time", f"< {LAMBDA_CAP_SECONDS} s cap"], long_rows))
    fast = next(s for s in steps if s.name == "thumbnail + MP4 remux + audio")
    verdict = "meets" if fast.realtime > 10 else "misses"
    print(f"target: > 10x real time for thumbnail + MP4 + audio -> {verdict}")
    baseline = next((s for s in transcodes if "baseline" in s.name), None)
    ratio = f" ({fast.realtime / baseline.realtime:.1f}x vs full single-process H.264 transcode)" if baseline else ""
    summary = f"recording_pipeline: {fast.realtime:.1f} x real time for thumbnail + MP4 remux + audio{ratio}"
    print(summary)
    return summary


def run(
    minutes: float = DEFAULT_MINUTES,
    height: int = DEFAULT_HEIGHT,
    segment_seconds: int = DEFAULT_SEGMENT_SECONDS,
    long_hours: float = DEFAULT_LONG_HOURS,
) -> str:
    steps, transcodes, extra = measure(
        minutes=minutes, height=height, segment_seconds=segment_seconds, long_hours=long_hours
    )
    return report(steps, transcodes, extra, minutes=minutes, height=height)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recording_pipeline", description=__doc__)
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES, help="length of the synthetic recording")
    parser.add_argument("--height", type=int, default=DEFAULT_HEIGHT, help="video height (16:9)")
    parser.add_argument("--segment-seconds", type=int, default=DEFAULT_SEGMENT_SECONDS, help="parallel segment length")
    parser.add_argument("--long-hours", type=float, default=DEFAULT_LONG_HOURS, help="long-meeting check (0: skip)")
    args = parser.parse_args(argv)
    run(args.minutes, args.height, args.segment_seconds, args.long_hours)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
