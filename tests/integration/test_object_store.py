"""The ObjectStore port's contract (agents_meetings.storage), passed by every backend: S3 against
moto, and the local directory (``STORAGE_BACKEND=local``) with its signed URLs served by the local
runtime's storage route (infra/local/storage_server.py)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from agents_meetings.errors import NotFound
from agents_meetings.settings import reset_settings
from agents_meetings.storage import ObjectStore, object_store, reset_object_stores

from infra.local.runtime import free_port
from infra.local.storage_server import LocalStorageServer

pytestmark = pytest.mark.integration

SIGNING_KEY = "test-local-storage-signing-key-0123456789"


@pytest.fixture(scope="module")
def storage_route() -> Iterator[str]:
    """The local runtime's storage route on a loopback port: its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(LocalStorageServer(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the storage route did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/_storage"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(params=["s3", "local"])
def backend(request: pytest.FixtureRequest, aws: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each contract test once per backend: S3 (moto, from the ``aws`` fixture) and the local directory."""
    if request.param == "local":
        base = request.getfixturevalue("storage_route")
        monkeypatch.setenv("STORAGE_BACKEND", "local")
        monkeypatch.setenv("LOCAL_STORAGE_DIR", str(tmp_path / "objects"))
        monkeypatch.setenv("LOCAL_STORAGE_SIGNING_KEY", SIGNING_KEY)
        monkeypatch.setenv("LOCAL_STORAGE_URL", base)
        reset_settings()
        reset_object_stores()
    yield request.param  # type: ignore[misc]
    monkeypatch.undo()
    reset_settings()
    reset_object_stores()


@pytest.fixture
def store(backend: str) -> ObjectStore:
    return object_store()


def test_put_head_get_list_and_delete(store: ObjectStore, tmp_path: Path) -> None:
    store.put_bytes("recordings/r1/a.txt", b"hello", content_type="text/plain")
    source = tmp_path / "b.bin"
    source.write_bytes(b"x" * 2048)
    store.put_file("recordings/r1/b.bin", source)
    with (tmp_path / "b.bin").open("rb") as stream:
        store.put_stream("recordings/r1x/c.bin", stream, content_type="application/octet-stream")

    head = store.head("recordings/r1/a.txt")
    assert head is not None and head.size == 5 and head.content_type == "text/plain"
    assert store.get_bytes("recordings/r1/a.txt") == b"hello"
    assert sorted(item.key for item in store.list("recordings/r1/")) == ["recordings/r1/a.txt", "recordings/r1/b.bin"]
    assert [item.key for item in store.list("recordings/r1")] == [
        "recordings/r1/a.txt",
        "recordings/r1/b.bin",
        "recordings/r1x/c.bin",
    ]
    assert store.list("recordings/none/") == []
    assert store.download_to("recordings/r1/b.bin", tmp_path / "out" / "b.bin").read_bytes() == b"x" * 2048

    assert store.delete_prefix("recordings/r1/") == 2
    assert store.head("recordings/r1/a.txt") is None
    with pytest.raises(NotFound):
        store.get_bytes("recordings/r1/a.txt")
    with pytest.raises(NotFound):
        store.download_to("recordings/r1/b.bin", tmp_path / "gone")
    store.delete("recordings/r1/never-there.txt")  # deleting a missing object is not an error


def test_an_overwrite_replaces_the_object_and_its_metadata(store: ObjectStore) -> None:
    store.put_bytes("recordings/r4/manifest.json", b"{}", content_type="application/json")
    store.put_bytes("recordings/r4/manifest.json", b"[1, 2]", content_type="text/plain")
    head = store.head("recordings/r4/manifest.json")
    assert head is not None and (head.size, head.content_type) == (6, "text/plain")
    assert store.get_bytes("recordings/r4/manifest.json") == b"[1, 2]"


def test_storage_class_moves_between_tiers(store: ObjectStore) -> None:
    store.put_bytes("recordings/r2/video.mp4", b"v")
    assert store.head("recordings/r2/video.mp4").storage_class == "STANDARD"  # type: ignore[union-attr]
    store.set_storage_class("recordings/r2/video.mp4", "GLACIER_IR")
    head = store.head("recordings/r2/video.mp4")
    assert head is not None and head.storage_class == "GLACIER_IR"
    assert [item.storage_class for item in store.list("recordings/r2/")] == ["GLACIER_IR"]
    assert store.get_bytes("recordings/r2/video.mp4") == b"v"  # Instant Retrieval: still readable


def test_a_signed_get_url_downloads_the_object_with_its_file_name(store: ObjectStore) -> None:
    store.put_bytes("recordings/r3/video.mp4", b"0123456789", content_type="video/mp4")
    url = store.signed_get_url("recordings/r3/video.mp4", ttl_seconds=120, filename="meeting.mp4")
    response = requests.get(url, timeout=5)
    assert response.status_code == 200
    assert response.content == b"0123456789"
    assert response.headers["content-type"] == "video/mp4"
    assert 'filename="meeting.mp4"' in response.headers["content-disposition"]


def test_a_key_with_spaces_percent_signs_and_accents_round_trips_through_its_signed_url(store: ObjectStore) -> None:
    key = "materials/u1/m1/vidéo 100%41 final.txt"
    store.put_bytes(key, b"odd name", content_type="text/plain")
    assert [item.key for item in store.list("materials/u1/")] == [key]
    response = requests.get(store.signed_get_url(key), timeout=5)
    assert response.status_code == 200 and response.content == b"odd name"


def test_signed_urls_expire_and_carry_a_signature(store: ObjectStore, backend: str) -> None:
    url = store.signed_get_url("recordings/r3/video.mp4", ttl_seconds=120, filename="meeting.mp4")
    default = store.signed_get_url("recordings/r3/video.mp4")
    if backend == "s3":
        assert "X-Amz-Expires=120" in url and "X-Amz-Signature=" in url
        assert "response-content-disposition" in url
        assert "X-Amz-Expires=900" in default  # SIGNED_URL_TTL_SECONDS default: 15 minutes
        return
    query = parse_qs(urlsplit(url).query)
    assert int(query["expires"][0]) - time.time() == pytest.approx(120, abs=5)
    assert len(query["signature"][0]) == 64 and query["filename"] == ["meeting.mp4"]
    assert int(parse_qs(urlsplit(default).query)["expires"][0]) - time.time() == pytest.approx(900, abs=5)


def test_signed_put_url_uploads(store: ObjectStore) -> None:
    url = store.signed_put_url("materials/m1/notes.txt", content_type="text/plain", ttl_seconds=300)
    response = requests.put(url, data=b"notes", headers={"Content-Type": "text/plain"}, timeout=5)
    assert response.status_code == 200
    assert store.get_bytes("materials/m1/notes.txt") == b"notes"
    head = store.head("materials/m1/notes.txt")
    assert head is not None and head.content_type == "text/plain"


def test_a_range_request_gets_part_of_the_object(store: ObjectStore) -> None:
    store.put_bytes("recordings/r5/web.mp4", b"0123456789", content_type="video/mp4")
    url = store.signed_get_url("recordings/r5/web.mp4")
    partial = requests.get(url, headers={"Range": "bytes=2-5"}, timeout=5)
    assert partial.status_code == 206 and partial.content == b"2345"
    assert partial.headers["content-range"] == "bytes 2-5/10"
    assert requests.get(url, headers={"Range": "bytes=-3"}, timeout=5).content == b"789"
    assert requests.get(url, headers={"Range": "bytes=20-"}, timeout=5).status_code == 416


# --- the local directory backend's own guarantees -------------------------------------------


@pytest.fixture
def local_store(
    aws: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage_route: str
) -> Iterator[ObjectStore]:
    monkeypatch.setenv("STORAGE_BACKEND", "local")
    monkeypatch.setenv("LOCAL_STORAGE_DIR", str(tmp_path / "objects"))
    monkeypatch.setenv("LOCAL_STORAGE_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("LOCAL_STORAGE_URL", storage_route)
    reset_settings()
    reset_object_stores()
    yield object_store()
    monkeypatch.undo()
    reset_settings()
    reset_object_stores()


def _error_code(response: requests.Response) -> str:
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    return str(body["error"]["code"])


def test_storage_backend_local_is_a_working_backend(local_store: ObjectStore, tmp_path: Path) -> None:
    """Before: ``STORAGE_BACKEND=local`` passed the settings and raised ValueError at first use."""
    stored = local_store.put_bytes("recordings/r6/a.txt", b"abc", content_type="text/plain")
    assert stored.size == 3
    assert (tmp_path / "objects" / "recordings" / "recordings" / "r6" / "a.txt").read_bytes() == b"abc"


def test_local_metadata_is_kept_beside_the_object(local_store: ObjectStore, tmp_path: Path) -> None:
    import hashlib
    import json

    local_store.put_bytes("recordings/r7/a.txt", b"abc", content_type="text/plain")
    meta = json.loads((tmp_path / "objects" / ".meta" / "recordings" / "recordings" / "r7" / "a.txt.json").read_text())
    assert meta["size"] == 3 and meta["content_type"] == "text/plain" and meta["storage_class"] == "STANDARD"
    assert meta["sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert meta["etag"] == hashlib.md5(b"abc", usedforsecurity=False).hexdigest()
    # No temporary file is left behind by a completed write.
    assert list((tmp_path / "objects" / ".tmp").iterdir()) == []


@pytest.mark.parametrize(
    "key", ["../escape.txt", "recordings/../../escape.txt", "/etc/passwd", "a//b", "a/./b", "a\\b", "a\x00b", ""]
)
def test_local_keys_that_would_leave_the_bucket_are_refused(local_store: ObjectStore, key: str, tmp_path: Path) -> None:
    from agents_meetings.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        local_store.put_bytes(key, b"x")
    with pytest.raises(InvalidRequest):
        local_store.signed_get_url(key)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "objects" / "escape.txt").exists()


def test_a_local_write_is_atomic_and_durable(local_store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bytes are fsynced before the rename that publishes them (so a 2xx survives kill -9), and
    a write that fails half-way leaves the previous object whole."""
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    local_store.put_bytes("recordings/r8/manifest.json", b"old")
    assert calls[:2] == ["fsync", "replace"]

    class Broken:
        def __init__(self) -> None:
            self.sent = False

        def read(self, size: int = -1) -> bytes:
            if self.sent:
                raise OSError("connection reset")
            self.sent = True
            return b"new and half"

    with pytest.raises(OSError):
        local_store.put_stream("recordings/r8/manifest.json", Broken())  # type: ignore[arg-type]
    assert local_store.get_bytes("recordings/r8/manifest.json") == b"old"
    assert local_store.head("recordings/r8/manifest.json").size == 3  # type: ignore[union-attr]


def test_local_signed_urls_refuse_bad_and_expired_signatures(local_store: ObjectStore) -> None:
    local_store.put_bytes("recordings/r9/video.mp4", b"secret", content_type="video/mp4")
    url = local_store.signed_get_url("recordings/r9/video.mp4")
    tampered = url.replace("signature=", "signature=0")
    assert _error_code(requests.get(tampered, timeout=5)) == "signature_invalid"
    other_key = url.replace("r9/video.mp4", "r9/other.mp4")
    response = requests.get(other_key, timeout=5)
    assert response.status_code == 403 and _error_code(response) == "signature_invalid"
    unsigned = url.split("?")[0]
    assert requests.get(unsigned, timeout=5).status_code == 403
    # A GET signature does not allow a PUT to the same key.
    assert requests.put(url, data=b"x", timeout=5).status_code == 403

    expired = local_store.signed_get_url("recordings/r9/video.mp4", ttl_seconds=-1)
    response = requests.get(expired, timeout=5)
    assert response.status_code == 403 and _error_code(response) == "url_expired"
    assert local_store.get_bytes("recordings/r9/video.mp4") == b"secret"


def test_a_signed_url_for_a_missing_object_is_404(local_store: ObjectStore) -> None:
    response = requests.get(local_store.signed_get_url("recordings/r10/none.mp4"), timeout=5)
    assert response.status_code == 404 and _error_code(response) == "object_not_found"


def test_a_presigned_put_must_send_the_signed_content_type(local_store: ObjectStore) -> None:
    url = local_store.signed_put_url("materials/m2/notes.pdf", content_type="application/pdf")
    response = requests.put(url, data=b"x", headers={"Content-Type": "text/html"}, timeout=5)
    assert response.status_code == 403 and _error_code(response) == "signature_invalid"
    assert local_store.head("materials/m2/notes.pdf") is None
