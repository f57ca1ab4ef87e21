"""The S3 object store (agents_meetings.storage) against moto."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from agents_meetings.errors import NotFound
from agents_meetings.storage import object_store

pytestmark = pytest.mark.integration


def test_put_head_get_list_and_delete(aws: object, tmp_path: Path) -> None:
    store = object_store()
    store.put_bytes("recordings/r1/a.txt", b"hello", content_type="text/plain")
    source = tmp_path / "b.bin"
    source.write_bytes(b"x" * 2048)
    store.put_file("recordings/r1/b.bin", source)

    head = store.head("recordings/r1/a.txt")
    assert head is not None and head.size == 5 and head.content_type == "text/plain"
    assert store.get_bytes("recordings/r1/a.txt") == b"hello"
    assert sorted(item.key for item in store.list("recordings/r1/")) == ["recordings/r1/a.txt", "recordings/r1/b.bin"]
    assert store.download_to("recordings/r1/b.bin", tmp_path / "out" / "b.bin").read_bytes() == b"x" * 2048

    assert store.delete_prefix("recordings/r1/") == 2
    assert store.head("recordings/r1/a.txt") is None
    with pytest.raises(NotFound):
        store.get_bytes("recordings/r1/a.txt")
    with pytest.raises(NotFound):
        store.download_to("recordings/r1/b.bin", tmp_path / "gone")


def test_storage_class_moves_between_tiers(aws: object) -> None:
    store = object_store()
    store.put_bytes("recordings/r2/video.mp4", b"v")
    store.set_storage_class("recordings/r2/video.mp4", "GLACIER_IR")
    head = store.head("recordings/r2/video.mp4")
    assert head is not None and head.storage_class == "GLACIER_IR"


def test_signed_urls_expire_and_carry_a_signature(aws: object) -> None:
    url = object_store().signed_get_url("recordings/r3/video.mp4", ttl_seconds=120, filename="meeting.mp4")
    assert "X-Amz-Expires=120" in url and "X-Amz-Signature=" in url
    assert "response-content-disposition" in url
    default = object_store().signed_get_url("recordings/r3/video.mp4")
    assert "X-Amz-Expires=900" in default  # SIGNED_URL_TTL_SECONDS default: 15 minutes


def test_signed_put_url_uploads(aws: object) -> None:

    url = object_store().signed_put_url("materials/m1/notes.txt", content_type="text/plain", ttl_seconds=300)
    response = requests.put(url, data=b"notes", headers={"Content-Type": "text/plain"}, timeout=5)
    assert response.status_code == 200
    assert object_store().get_bytes("materials/m1/notes.txt") == b"notes"
