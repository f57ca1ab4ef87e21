"""The recording post-processing tasks against moto (S3, DynamoDB, EventBridge) with real ffmpeg.

``drive`` runs the tasks in the order statemachines/recording-pipeline.asl.json does; the state
machine itself is run in test_recording_pipeline_statemachine.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agents_meetings.events.catalog import REQUIRED_FIELDS, DomainEvent
from agents_meetings.media import probe
from agents_meetings.media.tools import discover
from agents_meetings.recordings.pipeline import (
    ManifestInvalid,
    RawFileMissing,
    RecordingPipeline,
)
from agents_meetings.settings import Settings
from agents_meetings.storage import object_store
from agents_meetings.tables import RecordingJobModel
from emf_support import EmfCapture, emf_fixture  # noqa: F401 - the emf fixture

from tests.conftest import AwsHarness
from tests.recording_media import SECONDS, recording_media, stage_recording

pytestmark = pytest.mark.integration
__all__ = ["recording_media"]


class RecordingTranscriber:
    """Test double at the transcription seam (the real service is issue 4's transcription part)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, recording_id: str, language: str) -> dict[str, str]:
        self.calls.append((recording_id, language))
        return {"id": f"tj-{language}"}


def make_pipeline(tmp_path: Path, **overrides: Any) -> tuple[RecordingPipeline, RecordingTranscriber, Path]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    values = {"PIPELINE_WORK_DIR": str(work), "TRANSCRIPTION_LANGUAGES": "en,es", **overrides}
    transcriber = RecordingTranscriber()
    pipeline = RecordingPipeline(settings=Settings(**values), transcriber=transcriber, retention=lambda _: None)
    return pipeline, transcriber, work


def drive(pipeline: RecordingPipeline, key: str, execution: str = "execution-1") -> dict[str, Any]:
    job = pipeline.run({"task": "claim", "bucket": pipeline.store.bucket, "key": key, "execution": execution})
    if not job["proceed"]:
        return job
    source = {"recording_id": job["recording_id"], "source_key": job["source_key"]}
    pipeline.run({"task": "probe", **source})
    thumbnail = pipeline.run({"task": "thumbnail", **source})
    preview = pipeline.run({"task": "preview", **source})
    plan = pipeline.run({"task": "plan", **source, "output_format": job["output_format"]})
    if plan["mode"] == "remux":
        web = pipeline.run({"task": "remux", **source, "output_format": job["output_format"]})
    else:
        segments = [pipeline.run(item) for item in plan["segments"]]
        web = pipeline.run({"task": "join", **source, "output_format": job["output_format"], "segments": segments})
    languages = []
    for item in job["audio_sources"]:
        audio = pipeline.run({"task": "extract_audio", **item})
        transcript = pipeline.run(
            {"task": "transcribe", "recording_id": item["recording_id"], "language": item["language"]}
        )
        languages.append({**item, "audio": audio, "transcript": transcript})
    return pipeline.run(
        {
            "task": "finalize",
            "recording_id": job["recording_id"],
            "web": web,
            "thumbnail": thumbnail,
            "preview": preview,
            "languages": languages,
            "plan": plan,
        }
    )


def _download_probe(key: str, dest: Path) -> Any:
    return probe(discover(), object_store().download_to(key, dest))


def test_post_processing_produces_thumbnail_mp4_and_per_language_audio(
    aws: AwsHarness, recording_media: dict[str, Path], tmp_path: Path
) -> None:
    staged = stage_recording(object_store(), recording_media)
    pipeline, transcriber, work = make_pipeline(tmp_path)
    result = drive(pipeline, staged.manifest_key)
    assert result["status"] == "completed" and result["changed"]

    job = RecordingJobModel.get(staged.recording_id)
    rid = staged.recording_id
    assert job.status == "completed" and job.completed_at is not None and job.error_message is None
    assert job.storage_path == f"recordings/{rid}/web/recording.mp4"
    assert job.thumbnail_path == f"recordings/{rid}/thumbnail.jpg"
    assert job.preview_path == f"recordings/{rid}/preview.jpg"
    stored = object_store().head(job.storage_path)
    assert stored is not None and job.file_size_bytes == stored.size
    assert job.duration_seconds == SECONDS
    assert job.outputs["web"] == {
        "path": job.storage_path,
        "size": stored.size,
        "format": "mp4",
        "duration": pytest.approx(SECONDS, abs=0.1),
    }
    assert set(job.outputs["audio"]) == {"en", "es"}
    assert job.outputs["transcripts"] == {"en": "completed", "es": "completed"}
    assert sorted(transcriber.calls) == [(rid, "en"), (rid, "es")]

    web = _download_probe(job.storage_path, tmp_path / "web.mp4")
    assert (web.video.codec, web.audio.codec) == ("h264", "aac")
    for language in ("en", "es"):
        path = job.outputs["audio"][language]["path"]
        assert path == f"recordings/{rid}/audio/{language}.wav"
        wav = _download_probe(path, tmp_path / f"{language}.wav")
        assert (wav.audio.codec, wav.audio.sample_rate, wav.audio.channels) == ("pcm_s16le", 16000, 1)
    assert _download_probe(job.thumbnail_path, tmp_path / "t.jpg").video.codec == "mjpeg"

    (completed,) = aws.events_of(DomainEvent.RECORDING_COMPLETED)
    assert REQUIRED_FIELDS[DomainEvent.RECORDING_COMPLETED] <= completed.keys()
    assert (completed["recording_id"], completed["host_id"], completed["duration_seconds"]) == (
        rid,
        staged.host_id,
        SECONDS,
    )
    assert list(work.iterdir()) == []  # every task's scratch directory was removed


def test_webm_asked_of_an_mp4_composite_is_transcoded_in_segments_and_joined(
    aws: AwsHarness, recording_media: dict[str, Path], tmp_path: Path
) -> None:
    staged = stage_recording(object_store(), recording_media, output_format="webm", languages=("en",))
    pipeline, _, work = make_pipeline(tmp_path, RECORDING_SEGMENT_SECONDS="2")
    claimed = pipeline.run({"task": "claim", "key": staged.manifest_key, "execution": "e"})
    plan = pipeline.run(
        {
            "task": "plan",
            "recording_id": staged.recording_id,
            "source_key": claimed["source_key"],
            "output_format": "webm",
        }
    )
    assert plan["mode"] == "transcode" and len(plan["segments"]) == 3
    segments = [pipeline.run(item) for item in plan["segments"]]
    web = pipeline.run(
        {
            "task": "join",
            "recording_id": staged.recording_id,
            "source_key": claimed["source_key"],
            "output_format": "webm",
            "segments": segments,
        }
    )
    assert web["path"] == f"recordings/{staged.recording_id}/web/recording.webm"
    info = _download_probe(web["path"], tmp_path / "web.webm")
    assert (info.container, info.video.codec, info.audio.codec) == ("webm", "vp9", "opus")
    assert info.duration == pytest.approx(SECONDS, abs=0.25)
    # The intermediate segments are removed once joined.
    assert object_store().list(f"recordings/{staged.recording_id}/work/") == []
    assert list(work.iterdir()) == []


def test_without_audio_tracks_the_first_language_comes_from_the_composite(
    aws: AwsHarness, recording_media: dict[str, Path], tmp_path: Path
) -> None:
    staged = stage_recording(object_store(), recording_media, audio_tracks=False)
    pipeline, transcriber, _ = make_pipeline(tmp_path, TRANSCRIPTION_ENABLED="false")
    drive(pipeline, staged.manifest_key)
    job = RecordingJobModel.get(staged.recording_id)
    assert set(job.outputs["audio"]) == {"en"}
    assert job.outputs["transcripts"] == {"en": "skipped"}
    assert transcriber.calls == []


def test_a_second_execution_and_a_completed_job_do_nothing(
    aws: AwsHarness, recording_media: dict[str, Path], tmp_path: Path, emf: EmfCapture
) -> None:
    staged = stage_recording(object_store(), recording_media, languages=("en",))
    pipeline, _, _ = make_pipeline(tmp_path)
    first = pipeline.run({"task": "claim", "key": staged.manifest_key, "execution": "first"})
    assert first["proceed"]
    duplicate = pipeline.run({"task": "claim", "key": staged.manifest_key, "execution": "second"})
    assert duplicate == {"proceed": False, "reason": "already_claimed", "recording_id": staged.recording_id}
    # The owner's own retry of claim is not a duplicate.
    assert pipeline.run({"task": "claim", "key": staged.manifest_key, "execution": "first"})["proceed"]
    # A failure in the duplicate leaves the owner's job alone.
    pipeline.run({"task": "mark_failed", "key": staged.manifest_key, "execution": "second", "error": {"Error": "X"}})
    assert RecordingJobModel.get(staged.recording_id).status == "processing"

    drive(pipeline, staged.manifest_key, execution="first")
    completed = RecordingJobModel.get(staged.recording_id)
    assert drive(pipeline, staged.manifest_key, execution="third")["reason"] == "already_completed"
    again = pipeline.run({"task": "finalize", "recording_id": staged.recording_id, "web": {}, "languages": []})
    assert again["changed"] is False
    failed = pipeline.run(
        {
            "task": "mark_failed",
            "key": staged.manifest_key,
            "execution": "third",
            "error": {"Error": "X", "Cause": "late"},
        }
    )
    assert failed["changed"] is False
    after = RecordingJobModel.get(staged.recording_id)
    assert (after.status, after.version, after.completed_at) == ("completed", completed.version, completed.completed_at)
    assert len(aws.events_of(DomainEvent.RECORDING_COMPLETED)) == 1
    assert aws.events_of(DomainEvent.RECORDING_FAILED) == []
    # Counted once, with its minutes, however often it is finalised.
    emitted = emf.take()
    [recordings] = [m for m in emitted if m.name == "RecordingsCompleted"]
    [minutes] = [m for m in emitted if m.name == "RecordingMinutes"]
    assert recordings.value == 1 and recordings.dimensions.get("output_format") == completed.output_format
    assert minutes.value == pytest.approx(completed.duration_seconds / 60)
    assert minutes.metadata["recording_id"] == staged.recording_id
    assert minutes.metadata["meeting_id"] == completed.meeting_id


def test_mark_failed_keeps_the_error_and_announces_it_once(
    aws: AwsHarness, recording_media: dict[str, Path], tmp_path: Path
) -> None:
    staged = stage_recording(object_store(), recording_media, languages=("en",), upload=False)
    pipeline, _, _ = make_pipeline(tmp_path)
    pipeline.run({"task": "claim", "key": staged.manifest_key, "execution": "e"})
    cause = json.dumps({"errorMessage": "remux failed (exit 1): moov atom not found", "errorType": "FfmpegFailed"})
    error = {"Error": "FfmpegFailed", "Cause": cause}
    for _ in range(2):  # MarkFailed is itself retried: twice changes nothing more
        result = pipeline.run({"task": "mark_failed", "key": staged.manifest_key, "execution": "e", "error": error})
    assert result["status"] == "failed"
    job = RecordingJobModel.get(staged.recording_id)
    assert job.status == "failed"
    assert job.error_message == "FfmpegFailed: remux failed (exit 1): moov atom not found"
    (failed,) = aws.events_of(DomainEvent.RECORDING_FAILED)
    assert (failed["recording_id"], failed["error_message"]) == (staged.recording_id, job.error_message)


def test_a_missing_raw_file_is_a_clear_permanent_error(
    aws: AwsHarness, recording_media: dict[str, Path], tmp_path: Path
) -> None:
    staged = stage_recording(object_store(), recording_media, upload=False)
    pipeline, _, work = make_pipeline(tmp_path)
    claimed = pipeline.run({"task": "claim", "key": staged.manifest_key, "execution": "e"})
    with pytest.raises(RawFileMissing, match=claimed["source_key"]):
        pipeline.run({"task": "probe", "recording_id": staged.recording_id, "source_key": claimed["source_key"]})
    assert list(work.iterdir()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(tracks=[t for t in m["tracks"] if t["track_type"] != "composite"]), "no composite"),
        (lambda m: m.update(meeting_id="another-meeting"), "names meeting"),
        (lambda m: m.update(output_format="avi"), "output_format"),
        (lambda m: m["tracks"][0].update(file_path="recordings/other/raw/x.mp4"), "outside this recording"),
        (lambda m: m.update(recording_id="someone-else"), "names recording"),
    ],
)
def test_a_bad_manifest_is_refused_and_changes_nothing(
    aws: AwsHarness, recording_media: dict[str, Path], tmp_path: Path, change: Any, message: str
) -> None:
    staged = stage_recording(object_store(), recording_media, languages=("en",), upload=False)
    manifest = json.loads(json.dumps(staged.manifest))
    change(manifest)
    object_store().put_bytes(staged.manifest_key, json.dumps(manifest).encode())
    pipeline, _, _ = make_pipeline(tmp_path)
    with pytest.raises(ManifestInvalid, match=message):
        pipeline.run({"task": "claim", "key": staged.manifest_key, "execution": "e"})
    job = RecordingJobModel.get(staged.recording_id)
    assert (job.status, job.execution_arn, job.version) == ("processing", None, 1)


def test_keys_that_are_not_manifests_are_refused(aws: AwsHarness, tmp_path: Path) -> None:
    pipeline, _, _ = make_pipeline(tmp_path)
    for key in ("recordings/x/raw/manifest.json", "other/abc/manifest.json", "recordings/../manifest.json"):
        with pytest.raises(ManifestInvalid):
            pipeline.run({"task": "claim", "key": key, "execution": "e"})
    with pytest.raises(ValueError, match="unknown pipeline task"):
        pipeline.run({"task": "format_disk"})
