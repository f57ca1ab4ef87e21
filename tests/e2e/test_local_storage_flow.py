"""``STORAGE_BACKEND=local`` end to end through the local runtime: objects live under the data
directory, signed URLs are served (and checked) by the runtime, a material goes up by presigned PUT
then /complete, a recording's raw files come from the LiveKit emulator into the directory, its
manifest starts the pipeline, and tiering is the objects' storage class."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    RunningPlatform,
    record_until_settled,
    start_platform,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def local_storage_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    base = tmp_path_factory.mktemp("local-storage-e2e")
    running = start_platform(
        base / "data", base / "runtime.log", {"STORAGE_BACKEND": "local", "TRANSCRIPTION_ENABLED": "false"}
    )
    yield running
    running.stop()


def _login(api: httpx.Client) -> dict[str, str]:
    response = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _storage(platform: RunningPlatform) -> Path:
    return platform.data_dir / "storage"


def test_a_material_is_uploaded_by_presigned_put_to_the_local_directory(
    local_storage_platform: RunningPlatform,
) -> None:
    api = local_storage_platform.client()
    headers = _login(api)
    text = b"Quadratic equations: completing the square, step by step."
    created = api.post(
        "/api/v1/materials",
        json={"title": "Quadratics", "filename": "notes.txt", "content_type": "text/plain", "size_bytes": len(text)},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    upload = created.json()
    assert upload["upload_url"].startswith(f"{local_storage_platform.base_url}/_storage/materials/")
    with httpx.Client(timeout=30) as http:
        assert http.put(upload["upload_url"], content=text, headers={"Content-Type": "text/html"}).status_code == 403
        put = http.put(upload["upload_url"], content=text, headers={"Content-Type": "text/plain"})
        assert put.status_code == 200, put.text
    material_id = upload["material"]["id"]
    completed = api.post(f"/api/v1/materials/{material_id}/complete", headers=headers)
    assert completed.status_code == 202, completed.text

    def ready() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"/api/v1/materials/{material_id}", headers=headers).json()
        return body if body["status"] in ("ready", "failed") else None

    assert wait_for(ready, timeout=120, interval=0.5)["status"] == "ready"
    stored = list((_storage(local_storage_platform) / "materials").rglob("notes.txt"))
    assert [path.read_bytes() for path in stored] == [text]


def test_a_recording_lands_in_the_local_directory_downloads_by_signed_url_is_archived_and_expires(
    local_storage_platform: RunningPlatform,
) -> None:
    platform = local_storage_platform
    api = platform.client()
    headers = _login(api)
    scheduled = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    meeting = api.post(
        "/api/v1/meetings",
        json={"title": "Local files", "meeting_type": "regular", "scheduled_at": scheduled, "languages": ["en"]},
        headers=headers,
    ).json()
    recording = record_until_settled(platform, api, headers, meeting["id"])
    recording_id = recording["id"]
    folder = _storage(platform) / "recordings" / "recordings" / recording_id
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["recording_id"] == recording_id
    assert (folder / "web" / "recording.mp4").is_file()

    video = recording["downloads"]["video"]["url"]
    assert video.startswith(f"{platform.base_url}/_storage/recordings/")
    with httpx.Client(timeout=60) as http:
        whole = http.get(video)
        assert whole.status_code == 200 and whole.content[4:8] == b"ftyp"
        assert whole.headers["content-type"] == "video/mp4"
        part = http.get(video, headers={"Range": "bytes=4-7"})
        assert part.status_code == 206 and part.content == b"ftyp"
        tampered = http.get(video.replace("signature=", "signature=f"))
        assert tampered.status_code == 403 and tampered.json()["error"]["code"] == "signature_invalid"

    # Archive: every object's storage class becomes Glacier Instant Retrieval (metadata locally).
    policy = api.post(
        "/api/v1/admin/storage-policies",
        json={
            "policy_name": "Archive regular meetings",
            "retention_days": 0,
            "auto_delete": False,
            "storage_tier": "archive",
            "applies_to": "regular_only",
        },
        headers=headers,
    )
    assert policy.status_code == 201, policy.text
    applied = api.post(f"/api/v1/admin/recordings/apply-policy/{recording_id}", headers=headers)
    assert applied.status_code == 200 and applied.json()["action"] == "tiered", applied.text
    meta = json.loads(
        (_storage(platform) / ".meta" / "recordings" / "recordings" / recording_id / "manifest.json.json").read_text()
    )
    assert meta["storage_class"] == "GLACIER_IR"
    with httpx.Client(timeout=60) as http:
        assert http.get(video).status_code == 200  # instant retrieval: still downloadable
    # Retention's delete with this backend: tests/e2e/test_recording_end_to_end.py[local].
