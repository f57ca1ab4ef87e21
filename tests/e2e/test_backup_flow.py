"""`make backup` / `make restore` through a real local runtime: data written, the runtime stopped
(a running one is refused), archived, restored into a new directory, and a runtime started on it
serves the same data: a meeting, the search index, an uploaded object and the signing keys (a token
issued before the backup is still accepted)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.catalog import REPO_ROOT
from infra.local import backup
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, start_platform, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.local.backup", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def test_a_backup_of_the_stopped_runtime_restores_into_a_new_directory_with_all_its_data(tmp_path: Path) -> None:
    data_dir, restored_dir, log = tmp_path / "data", tmp_path / "restored", tmp_path / "runtime.log"
    tag = uuid.uuid4().hex[:10]
    text = f"Backed-up notes {tag}".encode()
    first = start_platform(data_dir, log)
    try:
        with first.client() as api:
            login = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            meeting = api.post(
                "/api/v1/meetings",
                json={"title": f"Kept {tag}", "scheduled_at": "2030-01-01T15:00:00Z", "languages": ["en"]},
                headers=headers,
            )
            assert meeting.status_code == 201, meeting.text
            created = api.post(
                "/api/v1/materials",
                json={"title": "Notes", "filename": "notes.txt", "content_type": "text/plain", "size_bytes": len(text)},
                headers=headers,
            ).json()
            put = httpx.put(created["upload_url"], content=text, headers={"Content-Type": "text/plain"}, timeout=30)
            assert put.status_code == 200, put.text
            material_id = created["material"]["id"]
            assert api.post(f"/api/v1/materials/{material_id}/complete", headers=headers).status_code == 202

            def searchable() -> bool:
                page = api.get("/api/v1/search/meetings", params={"q": tag}, headers=headers).json()
                return [r["id"] for r in page["results"]] == [meeting.json()["id"]]

            def material_ready() -> bool:
                body = api.get(f"/api/v1/materials/{material_id}", headers=headers).json()
                return bool(body["status"] == "ready")

            wait_for(searchable, timeout=60)
            wait_for(material_ready, timeout=60)

        running = _cli("create", "--data-dir", str(data_dir), "--output", str(tmp_path / "backups"))
        assert running.returncode == 1
        assert "in use (the local runtime" in running.stderr and "stop it first" in running.stderr
        assert not list((tmp_path / "backups").glob("*.tar.gz"))
    finally:
        assert first.stop() == 0

    created_backup = _cli("create", "--data-dir", str(data_dir), "--output", str(tmp_path / "backups"))
    assert created_backup.returncode == 0, created_backup.stderr
    [archive] = (tmp_path / "backups").glob("*.tar.gz")
    assert backup.checksum_path(archive).is_file()
    assert _cli("verify", str(archive)).returncode == 0

    restored = _cli("restore", str(archive), "--data-dir", str(restored_dir))
    assert restored.returncode == 0, restored.stderr
    assert (restored_dir / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert (restored_dir / "aws" / "blobs" / hashlib.sha256(text).hexdigest()).read_bytes() == text

    second = start_platform(restored_dir, tmp_path / "restored.log")
    try:
        with second.client() as api:
            # The token from before the backup: the restored signing key still accepts it.
            kept: dict[str, Any] = api.get(f"/api/v1/meetings/{meeting.json()['id']}", headers=headers).json()
            assert kept["title"] == f"Kept {tag}"
            assert api.get(f"/api/v1/materials/{material_id}", headers=headers).json()["status"] == "ready"
            page = api.get("/api/v1/search/meetings", params={"q": tag}, headers=headers).json()
            assert [r["id"] for r in page["results"]] == [meeting.json()["id"]]
    finally:
        assert second.stop() == 0
