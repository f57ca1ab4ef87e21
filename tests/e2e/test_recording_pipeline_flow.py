"""`make dev` post-processes a recording: with the local runtime started as a user would, egress's
files and manifest put into its embedded S3 run the recording state machine to a completed job
(thumbnail, preview, web MP4, per-language audio), downloadable through signed URLs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agents_meetings.media import probe
from agents_meetings.media.tools import discover
from agents_meetings.settings import get_settings, reset_settings
from agents_meetings.storage import S3ObjectStore, reset_object_stores
from agents_meetings.tables import RecordingJobModel, bind_tables

from infra.local.runtime import free_port
from tests.e2e.conftest import RunningPlatform, start_platform, wait_for
from tests.recording_media import SECONDS, recording_media, stage_recording

# Starting the platform and processing take a few minutes on a loaded 2-core machine.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]
__all__ = ["recording_media"]


@pytest.fixture(scope="module")
def recording_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningPlatform, str]]:
    base = tmp_path_factory.mktemp("recording-runtime")
    aws_port = free_port()
    running = start_platform(
        base / "data", base / "runtime.log", {"LOCAL_AWS_PORT": str(aws_port), "TRANSCRIPTION_ENABLED": "false"}
    )
    try:
        yield running, f"http://127.0.0.1:{aws_port}"
    finally:
        assert running.stop() == 0


@pytest.fixture()
def embedded_aws(recording_platform: tuple[RunningPlatform, str]) -> Iterator[str]:
    """This test process talks to the running platform's embedded AWS."""
    _, endpoint = recording_platform
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", endpoint)
        reset_settings()
        reset_object_stores()
        bind_tables()
        yield endpoint
    reset_settings()
    reset_object_stores()
    bind_tables()


def test_a_recording_put_into_the_local_bucket_is_post_processed(
    embedded_aws: str, recording_media: dict[str, Path], tmp_path: Path
) -> None:
    store = S3ObjectStore(settings=get_settings())
    staged = stage_recording(store, recording_media)

    def finished() -> RecordingJobModel | None:
        job = RecordingJobModel.get(staged.recording_id)
        return job if job.status in ("completed", "failed") else None

    job = wait_for(finished, timeout=180, interval=0.5)
    assert job.status == "completed", job.error_message
    assert job.duration_seconds == SECONDS
    assert set(job.outputs["audio"]) == {"en", "es"}
    for key, name in ((job.storage_path, "web.mp4"), (job.thumbnail_path, "thumbnail.jpg")):
        response = httpx.get(store.signed_get_url(key), timeout=30)
        assert response.status_code == 200
        (tmp_path / name).write_bytes(response.content)
    web = probe(discover(), tmp_path / "web.mp4")
    assert (web.video and web.video.codec, web.audio and web.audio.codec) == ("h264", "aac")
    assert probe(discover(), tmp_path / "thumbnail.jpg").video is not None
