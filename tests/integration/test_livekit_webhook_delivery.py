"""LiveKit's webhooks reach the platform through the local gateway as they arrive, with rate
limiting on as in the local runtime: ``egress_ended`` ends the egress (not the reconcile job).

Before: a recording's dozen webhooks (started, updated, ended per egress) came from one IP with no
token, so the anonymous tier (10/minute) answered the last ``egress_ended`` 429 and the emulator,
like a sender that treats a 4xx as final, dropped it; the 2-minute reconcile job finished those
egresses instead (``bench/recording_latency.py``: ~100 s from stop to egress_ended)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from agents_meetings.ratelimit.service import reset_rate_limiting
from agents_meetings.settings import get_settings, reset_settings
from agents_meetings.tables import RecordingJobModel, RecordingTrackModel
from http_support import future

from infra.local.functions import FunctionRegistry
from infra.local.gateway import LocalApiGateway
from infra.local.livekit_emulator import LiveKitEmulator
from infra.local.runtime import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway_url(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The local gateway (real webhooks function) on a loopback port, rate limiting on."""
    import uvicorn

    monkeypatch.setenv("RATE_LIMIT_ENABLED", "true")
    monkeypatch.setenv("RATE_LIMIT_STORAGE", "memory")
    reset_settings()
    reset_rate_limiting()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            LocalApiGateway(FunctionRegistry()), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    monkeypatch.undo()
    reset_settings()
    reset_rate_limiting()


@pytest.fixture
def livekit(gateway_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveKitEmulator]:
    settings = get_settings()
    emulator = LiveKitEmulator(
        settings.livekit_api_key or "",
        settings.livekit_api_secret.get_secret_value() if settings.livekit_api_secret else "",
        webhook_url=f"{gateway_url}/api/v1/webhooks/livekit",
        max_duration_seconds=2.0,
        min_duration_seconds=1.0,
    ).start()
    monkeypatch.setenv("LIVEKIT_URL", emulator.url)
    reset_settings()
    yield emulator
    emulator.wait_idle()
    emulator.stop()


def test_egress_ended_arrives_by_webhook_through_the_gateway_before_anything_else_finishes_it(
    client: Any, livekit: LiveKitEmulator, admin_headers: dict[str, str]
) -> None:
    meeting = client.post(
        "/api/v1/meetings",
        json={"title": "Two languages", "scheduled_at": future(), "languages": ["en", "es"]},
        headers=admin_headers,
    ).json()
    assert client.post(f"/api/v1/meetings/{meeting['id']}/start", headers=admin_headers).status_code == 200
    started = client.post("/api/v1/recordings/start", json={"meeting_id": meeting["id"]}, headers=admin_headers)
    assert started.status_code == 201, started.text
    recording_id = started.json()["id"]
    assert client.post("/api/v1/recordings/stop", json={"meeting_id": meeting["id"]}, headers=admin_headers).is_success

    # Nothing here runs reconcile: once the emulator has sent everything, the webhooks alone
    # must have ended every egress and handed the recording to post-processing.
    livekit.wait_idle()
    job = RecordingJobModel.get(recording_id, consistent_read=True)
    assert job.status == "processing" and job.manifest_path, (job.status, livekit.webhooks_sent[-1].event)
    tracks = list(RecordingTrackModel.by_job.query(recording_id))
    assert len(tracks) == 3  # composite + audio per language: 12 webhooks in all
    ended = [(egress, status) for event, egress, status in livekit.webhook_deliveries if event == "egress_ended"]
    assert sorted(egress for egress, _ in ended) == sorted(track.egress_id for track in tracks)
    assert all(status == 200 for _, status in ended), livekit.webhook_deliveries
    assert all(status == 200 for *_, status in livekit.webhook_deliveries), livekit.webhook_deliveries
    assert {track.egress_status for track in tracks} == {"complete"}
