"""statemachines/recording-pipeline.asl.json run end to end in the local runtime's machinery: an
object put into the embedded S3 emits "Object Created" to EventBridge, the trigger starts the
execution, moto's Step Functions interprets the ASL, and every Lambda task runs the pipeline
handler in this process against the embedded S3, DynamoDB and EventBridge, with real ffmpeg."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.media import MediaTools
from agents_meetings.media.tools import discover
from agents_meetings.recordings.pipeline import RecordingPipeline
from agents_meetings.settings import get_settings, reset_settings
from agents_meetings.storage import S3ObjectStore, StoredObject, reset_object_stores
from agents_meetings.tables import RecordingJobModel, bind_tables

from infra.catalog import function
from infra.local.embedded_aws import EmbeddedAws
from infra.local.event_router import EventRouter
from infra.local.functions import FunctionRegistry, load_module
from infra.local.provision import Provisioner
from infra.local.runtime import free_port
from tests.recording_media import SECONDS, recording_media, stage_recording

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]
__all__ = ["recording_media"]


@dataclass
class Harness:
    aws: EmbeddedAws
    states: Any
    sqs: Any
    capture_url: str
    # None: the real functions/pipeline/handler.py; otherwise this pipeline runs the tasks.
    pipeline: RecordingPipeline | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def store(self) -> S3ObjectStore:
        return S3ObjectStore(settings=get_settings())

    def published(self, event: DomainEvent) -> list[dict[str, Any]]:
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.capture_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            for message in messages:
                body = json.loads(message["Body"])
                self.events.append((body["detail-type"], body["detail"]))
                self.sqs.delete_message(QueueUrl=self.capture_url, ReceiptHandle=message["ReceiptHandle"])
        return [detail for kind, detail in self.events if kind == str(event)]

    def executions(self, recording_id: str) -> list[dict[str, Any]]:
        arn = self.states.list_state_machines()["stateMachines"]
        machine = next(m["stateMachineArn"] for m in arn if m["name"] == "recording-pipeline")
        found = []
        for item in self.states.list_executions(stateMachineArn=machine)["executions"]:
            described = self.states.describe_execution(executionArn=item["executionArn"])
            if recording_id in described.get("input", ""):
                found.append(described)
        return found


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with pytest.MonkeyPatch.context() as env:
        registry = FunctionRegistry()
        aws = EmbeddedAws(free_port(), None, registry)
        aws.start()
        env.setenv("AWS_ENDPOINT_URL", aws.url)
        env.setenv("TRANSCRIPTION_ENABLED", "false")
        reset_settings()
        reset_object_stores()
        settings = get_settings()
        provisioner = Provisioner(settings, aws.url)
        provisioner.provision()
        provisioner.enable_object_events()
        bind_tables(settings)
        clients = {"region_name": settings.aws_region, "endpoint_url": aws.url}
        sqs, events = boto3.client("sqs", **clients), boto3.client("events", **clients)
        capture_url = sqs.create_queue(QueueName="capture-recording-events")["QueueUrl"]
        capture_arn = sqs.get_queue_attributes(QueueUrl=capture_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="capture-recording-events",
            EventBusName=settings.event_bus_name,
            EventPattern=json.dumps({"source": ["agents-meetings.recordings"]}),
        )
        events.put_targets(
            Rule="capture-recording-events",
            EventBusName=settings.event_bus_name,
            Targets=[{"Id": "capture", "Arn": capture_arn}],
        )
        harness = Harness(aws, boto3.client("stepfunctions", **clients), sqs, capture_url)
        real_handler = load_module(function("recording-pipeline")).handler

        def dispatch(event: dict[str, Any], context: Any) -> Any:
            if harness.pipeline is None:
                return real_handler(event, context)
            return harness.pipeline.run(event)

        registry.register("recording-pipeline", dispatch)
        router = EventRouter(registry, [], aws.url, settings.aws_region, schedules=(), triggers=provisioner.triggers)
        router.start()
        try:
            yield harness
        finally:
            router.stop()
            aws.stop()
    reset_settings()
    reset_object_stores()
    bind_tables()


@pytest.fixture(autouse=True)
def _real_handler_by_default(harness: Harness) -> Iterator[None]:
    harness.pipeline = None
    yield
    harness.pipeline = None


def wait_for_job(recording_id: str, *, deadline_s: float = 120) -> RecordingJobModel:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        job = RecordingJobModel.get(recording_id)
        if job.status in ("completed", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"recording {recording_id} still {RecordingJobModel.get(recording_id).status}")


def wait_for_executions(harness: Harness, recording_id: str, count: int, deadline_s: float = 60) -> list[dict]:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        executions = harness.executions(recording_id)
        if len(executions) >= count and all(e["status"] != "RUNNING" for e in executions):
            return executions
        time.sleep(0.2)
    raise AssertionError(f"executions of {recording_id} did not finish: {harness.executions(recording_id)}")


def failing_ffmpeg(tmp_path: Path, failures: int) -> MediaTools:
    """An ffmpeg that crashes on its first ``failures`` runs (counted in a file), then is the real one."""
    real = discover()
    counter = tmp_path / "ffmpeg-runs"
    counter.write_text("0")
    script = tmp_path / "ffmpeg"
    # Parallel branches run it at once: the increment holds a lock (no lost update) and the new
    # count replaces the file whole (a reader never sees it truncated and empty).
    script.write_text(
        "#!/bin/sh\n"
        f'exec 9>>"{counter}.lock"; flock 9\n'
        f'n=$(cat "{counter}"); n=$((n+1)); echo $n > "{counter}.$$"; mv -f "{counter}.$$" "{counter}"\n'
        "exec 9>&-\n"
        f'if [ "$n" -le {failures} ]; then echo "simulated encoder crash (run $n)" >&2; exit 134; fi\n'
        f'exec {real.ffmpeg} "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return MediaTools(str(script), real.ffprobe, "environment")


def test_the_failing_ffmpegs_run_counter_is_exact_and_always_readable_under_parallel_runs(tmp_path: Path) -> None:
    import subprocess
    import threading

    tools = failing_ffmpeg(tmp_path, failures=1000)
    counter = tmp_path / "ffmpeg-runs"
    runs = 24
    done = threading.Event()
    unreadable: list[str] = []

    def read_while_running() -> None:
        while not done.is_set():
            text = counter.read_text()
            if not text.strip().isdigit():
                unreadable.append(text)

    reader = threading.Thread(target=read_while_running)
    reader.start()
    try:
        processes = [subprocess.Popen([tools.ffmpeg], stderr=subprocess.DEVNULL) for _ in range(runs)]
        assert [process.wait(timeout=60) for process in processes] == [134] * runs
    finally:
        done.set()
        reader.join()
    assert int(counter.read_text()) == runs, "a concurrent run's increment was lost"
    assert unreadable == [], f"the counter was read mid-write: {unreadable[:3]}"


def test_a_manifest_in_the_bucket_runs_the_pipeline_to_a_completed_job(
    harness: Harness, recording_media: dict[str, Path]
) -> None:
    staged = stage_recording(harness.store(), recording_media)
    job = wait_for_job(staged.recording_id)
    assert job.status == "completed", job.error_message
    rid = staged.recording_id
    assert job.storage_path == f"recordings/{rid}/web/recording.mp4"
    assert (job.thumbnail_path, job.preview_path) == (
        f"recordings/{rid}/thumbnail.jpg",
        f"recordings/{rid}/preview.jpg",
    )
    assert job.duration_seconds == SECONDS and job.file_size_bytes and job.completed_at
    assert set(job.outputs["audio"]) == {"en", "es"}
    keys = {item.key for item in harness.store().list(f"recordings/{rid}/")}
    assert {
        job.storage_path,
        job.thumbnail_path,
        job.preview_path,
        *(a["path"] for a in job.outputs["audio"].values()),
    } <= keys
    (execution,) = wait_for_executions(harness, rid, 1)
    assert execution["status"] == "SUCCEEDED"
    assert job.execution_arn == execution["executionArn"]
    (completed,) = [e for e in harness.published(DomainEvent.RECORDING_COMPLETED) if e["recording_id"] == rid]
    assert completed["host_id"] == staged.host_id


def test_an_ffmpeg_error_is_retried_then_the_job_fails_with_its_message(
    harness: Harness, recording_media: dict[str, Path], tmp_path: Path
) -> None:
    harness.pipeline = RecordingPipeline(tools=failing_ffmpeg(tmp_path, failures=1000))
    staged = stage_recording(harness.store(), recording_media, languages=("en",))
    job = wait_for_job(staged.recording_id)
    assert job.status == "failed"
    assert "FfmpegFailed" in (job.error_message or "") and "simulated encoder crash" in (job.error_message or "")
    # Thumbnail and preview run in parallel, each tried three times (the first try and two retries);
    # the first branch out of retries fails the Parallel state, which stops the other one wherever
    # it is (even before its first try): 3 to 6 runs, never fewer than one task's three.
    assert 3 <= int((tmp_path / "ffmpeg-runs").read_text()) <= 6
    (execution,) = wait_for_executions(harness, staged.recording_id, 1)
    assert execution["status"] == "FAILED"
    (failed,) = [e for e in harness.published(DomainEvent.RECORDING_FAILED) if e["recording_id"] == staged.recording_id]
    assert failed["error_message"] == job.error_message


def test_a_transient_ffmpeg_crash_is_retried_and_the_job_completes(
    harness: Harness, recording_media: dict[str, Path], tmp_path: Path
) -> None:
    harness.pipeline = RecordingPipeline(
        tools=failing_ffmpeg(tmp_path, failures=1), transcriber=lambda r, lang: None, retention=lambda r: None
    )
    staged = stage_recording(harness.store(), recording_media, languages=("en",))
    assert wait_for_job(staged.recording_id).status == "completed"


class FlakyStore(S3ObjectStore):
    """The real store, whose first upload fails as a dropped connection would."""

    def __init__(self) -> None:
        super().__init__(settings=get_settings())
        self.failed_puts = 0

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> StoredObject:
        if self.failed_puts == 0:
            self.failed_puts += 1
            raise ConnectionError("Connection reset by peer while uploading")
        return super().put_file(key, path, content_type=content_type)


def test_an_s3_upload_failure_is_retried(harness: Harness, recording_media: dict[str, Path]) -> None:
    store = FlakyStore()
    harness.pipeline = RecordingPipeline(store=store, transcriber=lambda r, lang: None, retention=lambda r: None)
    staged = stage_recording(harness.store(), recording_media, languages=("en",))
    job = wait_for_job(staged.recording_id)
    assert (job.status, store.failed_puts) == ("completed", 1)


def test_a_missing_raw_file_fails_the_job_without_retrying(harness: Harness, recording_media: dict[str, Path]) -> None:
    staged = stage_recording(harness.store(), recording_media, upload=False)
    job = wait_for_job(staged.recording_id)
    assert job.status == "failed"
    assert (job.error_message or "").startswith("RawFileMissing: recordings/")


def test_a_duplicate_start_is_ignored(harness: Harness, recording_media: dict[str, Path]) -> None:
    staged = stage_recording(harness.store(), recording_media, languages=("en",))
    # The manifest written again (or its event delivered twice): a second execution starts.
    harness.store().put_bytes(staged.manifest_key, json.dumps(staged.manifest).encode())
    executions = wait_for_executions(harness, staged.recording_id, 2)
    assert [e["status"] for e in executions] == ["SUCCEEDED", "SUCCEEDED"]
    assert wait_for_job(staged.recording_id).status == "completed"
    completed = [
        e for e in harness.published(DomainEvent.RECORDING_COMPLETED) if e["recording_id"] == staged.recording_id
    ]
    assert len(completed) == 1
    outputs = [json.loads(e["output"]) for e in executions]
    assert sorted(o["job"]["proceed"] for o in outputs) == [False, True]
