"""Recording a meeting in the local runtime, as a client does: the embedded LiveKit emulator records,
sends signed webhooks to the gateway, the raw files and the pipeline's manifest land in the bucket,
and the recording's signed URLs download them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, wait_for

pytestmark = pytest.mark.e2e


def _login(api: httpx.Client) -> dict[str, str]:
    response = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_meeting_in_english_and_spanish_is_recorded_and_its_files_download(api: httpx.Client) -> None:
    headers = _login(api)
    scheduled = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    meeting = api.post(
        "/api/v1/meetings",
        json={
            "title": "Bilingual class",
            "meeting_type": "classroom",
            "scheduled_at": scheduled,
            "languages": ["en", "es"],
        },
        headers=headers,
    ).json()
    assert api.post(f"/api/v1/meetings/{meeting['id']}/start", headers=headers).status_code == 200
    started = api.post(
        "/api/v1/recordings/start", json={"meeting_id": meeting["id"], "options": {"format": "mp4"}}, headers=headers
    )
    assert started.status_code == 201, started.text
    recording_id = started.json()["id"]
    stopped = api.post("/api/v1/recordings/stop", json={"meeting_id": meeting["id"]}, headers=headers)
    assert stopped.status_code == 200, stopped.text

    def processed() -> dict[str, Any] | None:
        body = api.get(f"/api/v1/recordings/{recording_id}", headers=headers).json()
        return body if body["status"] not in ("pending", "recording") else None

    recording = wait_for(processed, timeout=90, interval=0.5)
    # The pipeline may already have taken it further; either way the raw tracks are complete.
    assert recording["status"] in ("processing", "completed"), recording
    tracks = {(t["track_type"], t["language"]): t for t in recording["tracks"]}
    assert set(tracks) == {("composite", None), ("audio_only", "en"), ("audio_only", "es")}
    with httpx.Client(timeout=30) as http:
        for track in tracks.values():
            assert track["egress_status"] == "complete"
            downloaded = http.get(track["download"]["url"])
            assert downloaded.status_code == 200, downloaded.text[:200]
            assert len(downloaded.content) == track["file_size_bytes"] > 1000
        composite = http.get(tracks[("composite", None)]["download"]["url"]).content
        assert composite[4:8] == b"ftyp"
        assert http.get(tracks[("audio_only", "es")]["download"]["url"]).content[:4] == b"OggS"

    # The manifest that starts post-processing, read from the embedded AWS the URLs point at.
    endpoint = "{0.scheme}://{0.netloc}".format(urlsplit(tracks[("composite", None)]["download"]["url"]))
    bucket = urlsplit(tracks[("composite", None)]["download"]["url"]).path.split("/")[1]
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
    )
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=f"recordings/{recording_id}/manifest.json")["Body"].read())
    assert manifest["meeting_id"] == meeting["id"] and manifest["languages"] == ["en", "es"]
    assert sorted((t["track_type"], t["language"]) for t in manifest["tracks"]) == sorted((k[0], k[1]) for k in tracks)
    listed = api.get(f"/api/v1/meetings/{meeting['id']}/recordings", headers=headers).json()
    assert [item["id"] for item in listed["items"]] == [recording_id]
