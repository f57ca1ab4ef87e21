"""Search & discovery through the HTTP API (spec 1.3), with the indexer fed the bus's events."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.search import embedded
from agents_meetings.search.indexer import IndexingService
from agents_meetings.settings import get_settings, reset_settings
from fastapi.testclient import TestClient

from tests.conftest import Account, AwsHarness, MakeUser

pytestmark = pytest.mark.integration


class Indexer:
    """Delivers the events published so far to the indexer, as the rule -> queue -> worker path does."""

    def __init__(self, aws: AwsHarness) -> None:
        self.aws = aws
        self.delivered = 0
        self.service = IndexingService()

    def run(self) -> int:
        events = self.aws.events()
        fresh = events[self.delivered :]
        self.delivered = len(events)
        for detail_type, detail in fresh:
            self.service.apply(detail_type, detail)
        return len(fresh)


@pytest.fixture
def indexer(aws: AwsHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Indexer]:
    monkeypatch.setenv("SEARCH_INDEX_DIR", str(tmp_path / "search"))
    reset_settings()
    aws.client("s3").create_bucket(Bucket=get_settings().materials_bucket_name)
    yield Indexer(aws)
    embedded.embedded_engine(str(tmp_path / "search")).close()
    embedded.embedded_engine.cache_clear()


def meeting(client: TestClient, headers: dict[str, str], title: str, **extra: Any) -> dict[str, Any]:
    body = {"title": title, "scheduled_at": "2031-03-01T10:00:00Z", **extra}
    response = client.post("/api/v1/meetings", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def search(client: TestClient, path: str, headers: dict[str, str] | None, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/search{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def titles(body: dict[str, Any]) -> set[str]:
    return {hit["document"]["title"] for hit in body["results"]}


def put_transcript(aws: AwsHarness, recording_id: str, segments: list[tuple[str, float, float, str]]) -> str:
    key = f"transcripts/{recording_id}/en.json"
    document = {
        "recording_id": recording_id,
        "language": "en",
        "provider": "test",
        "duration": segments[-1][2],
        "segments": [
            {"id": i, "speaker": speaker, "start": start, "end": end, "text": text, "words": []}
            for i, (speaker, start, end, text) in enumerate(segments)
        ],
    }
    aws.client("s3").put_object(Bucket=get_settings().s3_bucket_name, Key=key, Body=json.dumps(document).encode())
    return key


def transcript_ready(aws: AwsHarness, meeting: dict[str, Any], recording_id: str, key: str) -> None:
    from agents_meetings.events.publisher import EventBridgePublisher

    publisher = EventBridgePublisher()
    publisher._client = aws.client("events")
    publisher.publish(
        DomainEvent.TRANSCRIPT_READY,
        {
            "recording_id": recording_id,
            "meeting_id": meeting["id"],
            "host_id": meeting["host_id"],
            "language": "en",
            "transcription_job_id": f"tj-{recording_id}",
            "storage_path": f"s3://{get_settings().s3_bucket_name}/{key}",
        },
    )


def test_meetings_are_found_with_typos_filters_and_facets(
    client: TestClient, indexer: Indexer, make_user: MakeUser
) -> None:
    host = make_user("host", full_name="Grace Hopper")
    headers = host.headers or {}
    meeting(client, headers, "Algebra 101", tags=["math"], languages=["en", "es"], meeting_type="classroom")
    meeting(client, headers, "Physics of motion", tags=["science"], description="Newton and friends")
    cancelled = meeting(client, headers, "Algebra review", tags=["math"])
    assert client.post(f"/api/v1/meetings/{cancelled['id']}/cancel", headers=headers).status_code == 200
    indexer.run()

    assert titles(search(client, "/meetings", headers, q="algebar")) == {"Algebra 101", "Algebra review"}
    body = search(client, "/meetings", headers, q="algebra", status="scheduled")
    assert titles(body) == {"Algebra 101"}
    assert body["results"][0]["highlights"]["title"] == ["<mark>Algebra</mark> 101"]
    assert titles(search(client, "/meetings", headers, language="es")) == {"Algebra 101"}
    assert titles(search(client, "/meetings", headers, q="newton")) == {"Physics of motion"}
    assert titles(search(client, "/meetings", headers, q="hopper")) == {
        "Algebra 101",
        "Physics of motion",
        "Algebra review",
    }
    facets = search(client, "/meetings", headers, q="algebra")["facets"]
    assert facets["status"] == {"scheduled": 1, "cancelled": 1}
    assert facets["tags"] == {"math": 2}
    everything = search(client, "", headers, q="algebra", type="meeting", filters="status:cancelled")
    assert titles(everything) == {"Algebra review"}
    early = search(client, "/meetings", headers, **{"from": "2031-01-01T00:00:00Z", "to": "2031-02-01T00:00:00Z"})
    assert early["total"] == 0


def test_meeting_changes_are_reindexed_from_the_update_event(
    client: TestClient, indexer: Indexer, make_user: MakeUser, aws: AwsHarness
) -> None:
    host = make_user("host")
    headers = host.headers or {}
    created = meeting(client, headers, "Draft title")
    indexer.run()
    patched = client.patch(f"/api/v1/meetings/{created['id']}", json={"title": "Geometry workshop"}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert aws.events_of(DomainEvent.MEETING_UPDATED)[-1]["fields"] == ["title"]
    indexer.run()
    assert titles(search(client, "/meetings", headers, q="geometry")) == {"Geometry workshop"}
    assert search(client, "/meetings", headers, q="draft")["total"] == 0


def test_participants_find_only_meetings_they_may_see(
    client: TestClient, indexer: Indexer, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    host = make_user("host")
    invited, outsider = make_user(), make_user()
    shared = meeting(client, host.headers or {}, "Shared seminar")
    meeting(client, host.headers or {}, "Private seminar")
    response = client.post(
        f"/api/v1/meetings/{shared['id']}/participants", json={"user_ids": [invited.id]}, headers=host.headers
    )
    assert response.status_code in (200, 201), response.text
    indexer.run()

    assert titles(search(client, "/meetings", invited.headers, q="seminar")) == {"Shared seminar"}
    assert search(client, "/meetings", outsider.headers, q="seminar")["total"] == 0
    assert search(client, "/meetings", outsider.headers, q="seminar")["results"] == []
    assert titles(search(client, "/meetings", admin_headers, q="seminar")) == {"Shared seminar", "Private seminar"}
    assert search(client, "/suggest", outsider.headers, q="sem", type="meeting")["suggestions"] == []
    assert search(client, "/suggest", invited.headers, q="sem", type="meeting")["suggestions"] == ["Shared seminar"]


def test_transcripts_show_highlights_context_timestamps_and_respect_permissions(
    client: TestClient, indexer: Indexer, make_user: MakeUser, aws: AwsHarness
) -> None:
    host, outsider = make_user("host"), make_user()
    lesson = meeting(client, host.headers or {}, "Biology lesson")
    key = put_transcript(
        aws,
        "rec-1",
        [
            ("teacher", 0.0, 4.5, "Good morning everyone."),
            ("teacher", 4.5, 9.0, "Today we discuss photosynthesis in green plants."),
            ("student", 3671.0, 3675.0, "How does chlorophyll absorb light?"),
        ],
    )
    transcript_ready(aws, lesson, "rec-1", key)
    indexer.run()

    body = search(client, "/transcripts", host.headers, q="photosynthesys")
    assert body["total"] == 1
    hit = body["results"][0]
    assert hit["highlight"] == "Today we discuss <mark>photosynthesis</mark> in green plants."
    assert hit["context_before"] == "Good morning everyone."
    assert hit["context_after"] == "How does chlorophyll absorb light?"
    assert hit["start"] == 4.5 and hit["timestamp"] == "0:00:04"
    assert hit["recording_url"] == "/api/v1/recordings/rec-1?t=4"
    assert hit["meeting_title"] == "Biology lesson"
    late = search(client, "/transcripts", host.headers, q="chlorophyll", speaker="student")["results"][0]
    assert late["timestamp"] == "1:01:11"
    assert search(client, "/transcripts", host.headers, q="chlorophyll", speaker="teacher")["total"] == 0
    assert search(client, "/transcripts", host.headers, q='"green plants"')["total"] == 1
    assert search(client, "/transcripts", outsider.headers, q="photosynthesis")["total"] == 0
    assert search(client, "/suggest", host.headers, q="photo", type="transcript")["suggestions"] == ["photosynthesis"]

    # A duplicate delivery changes nothing.
    transcript_ready(aws, lesson, "rec-1", key)
    indexer.run()
    assert search(client, "/transcripts", host.headers)["total"] == 3


def test_a_failed_index_job_is_recorded_and_raised_for_retry(
    client: TestClient, indexer: Indexer, make_user: MakeUser, aws: AwsHarness, admin_headers: dict[str, str]
) -> None:
    host = make_user("host")
    lesson = meeting(client, host.headers or {}, "Lost recording")
    indexer.run()
    transcript_ready(aws, lesson, "rec-missing", "transcripts/rec-missing/en.json")
    with pytest.raises(Exception, match="not found"):
        indexer.run()
    failed = client.get("/api/v1/admin/search/jobs", params={"status": "failed"}, headers=admin_headers).json()
    assert [(job["entity_type"], job["entity_id"]) for job in failed] == [("transcript", "rec-missing:en")]
    assert failed[0]["error_message"] and failed[0]["attempts"] == 1
    # The object arrives; the redelivered event succeeds and the job says so.
    put_transcript(aws, "rec-missing", [("host", 1.0, 2.0, "Found it after all.")])
    IndexingService().apply(*aws.events()[-1])
    job = client.get(f"/api/v1/admin/search/jobs/{failed[0]['id']}", headers=admin_headers).json()
    assert job["status"] == "indexed" and job["attempts"] == 2 and job["error_message"] is None
    assert search(client, "/transcripts", host.headers, q="found")["total"] == 1


def test_users_search_hides_emails_and_inactive_users_from_non_admins(
    client: TestClient, indexer: Indexer, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    viewer = make_user()
    ada = make_user("teacher", full_name="Ada Lovelace", email="ada.lovelace@example.com")
    make_user(full_name="Ada Inactive", active=False)
    indexer.run()

    seen = search(client, "/users", viewer.headers, q="ada")
    assert [hit["document"]["full_name"] for hit in seen["results"]] == ["Ada Lovelace"]
    assert "email" not in seen["results"][0]["document"]
    assert all("email" not in hit["highlights"] for hit in seen["results"])
    assert search(client, "/users", viewer.headers, is_active=False)["total"] == 0

    admin_view = search(client, "/users", admin_headers, q="ada")
    assert {hit["document"]["full_name"] for hit in admin_view["results"]} == {"Ada Lovelace", "Ada Inactive"}
    assert {hit["document"]["email"] for hit in admin_view["results"]} >= {ada.email}
    assert search(client, "/users", admin_headers, q="ada", role="teacher")["total"] == 1
    assert search(client, "/users", admin_headers, q="ada", is_active=False)["total"] == 1
    assert search(client, "/suggest", viewer.headers, q="ada l", type="user")["suggestions"] == ["Ada Lovelace"]


def test_non_admins_cannot_find_anyone_by_email(client: TestClient, indexer: Indexer, make_user: MakeUser) -> None:
    viewer = make_user()
    make_user(full_name="Quiet Person", email="zebracorn@example.com")
    indexer.run()
    assert search(client, "/users", viewer.headers, q="zebracorn")["total"] == 0


@pytest.mark.parametrize("q", ['"unbalanced', "title:(x", "AND OR", "*?~^", "\\", "[a TO b", "<script>"])
def test_bad_query_syntax_is_treated_as_text(client: TestClient, indexer: Indexer, make_user: MakeUser, q: str) -> None:
    host = make_user("host")
    response = client.get("/api/v1/search", params={"q": q}, headers=host.headers)
    assert response.status_code == 200, response.text
    assert set(response.json()["facets"]["type"]) == {"meeting", "transcript", "user", "material"}


def test_search_needs_authentication_and_valid_parameters(client: TestClient, indexer: Indexer, admin: Account) -> None:
    assert client.get("/api/v1/search", params={"q": "x"}).status_code == 401
    bad = client.get(
        "/api/v1/search", params={"q": "x", "type": "meeting", "filters": "password:1"}, headers=admin.headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_filter"
    assert client.get("/api/v1/search/meetings", params={"limit": 0}, headers=admin.headers).status_code == 422
    reversed_range = {"from": "2031-02-01T00:00:00Z", "to": "2031-01-01T00:00:00Z"}
    assert client.get("/api/v1/search/meetings", params=reversed_range, headers=admin.headers).status_code == 422


def test_reindex_rebuilds_an_index_without_losing_results(
    client: TestClient, indexer: Indexer, make_user: MakeUser, aws: AwsHarness, admin_headers: dict[str, str]
) -> None:
    host = make_user("host")
    for title in ("Alpha session", "Beta session", "Gamma session"):
        meeting(client, host.headers or {}, title)
    indexer.run()
    before = titles(search(client, "/meetings", admin_headers, q="session"))

    participant = make_user()
    assert (
        client.post(
            "/api/v1/admin/search/reindex", json={"entity_type": "meeting"}, headers=participant.headers
        ).status_code
        == 403
    )
    assert (
        client.post("/api/v1/admin/search/reindex", json={"entity_type": "nope"}, headers=admin_headers).status_code
        == 422
    )
    started = client.post("/api/v1/admin/search/reindex", json={"entity_type": "meeting"}, headers=admin_headers)
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] == "pending" and job["entity_type"] == "meeting"
    requested = aws.events_of(DomainEvent.SEARCH_REINDEX_REQUESTED)
    assert requested[-1]["job_id"] == job["id"]
    indexer.run()
    done = client.get(f"/api/v1/admin/search/jobs/{job['id']}", headers=admin_headers).json()
    assert done["status"] == "indexed" and done["documents"] == 3
    assert titles(search(client, "/meetings", admin_headers, q="session")) == before
    # A redelivered request does not rebuild again.
    IndexingService().apply(DomainEvent.SEARCH_REINDEX_REQUESTED, requested[-1])
    assert client.get(f"/api/v1/admin/search/jobs/{job['id']}", headers=admin_headers).json()["attempts"] == 1


def _docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` in Helvetica (hand-written objects, byte offsets computed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@pytest.mark.parametrize(
    ("filename", "content_type", "body", "word"),
    [
        ("notes.txt", "text/plain", b"Mitochondria are the powerhouse of the cell.", "mitochondria"),
        ("sheet.pdf", "application/pdf", _pdf("Quadratic formula worksheet"), "quadratic"),
        (
            "essay.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            _docx("Renaissance painters and their patrons"),
            "renaissance",
        ),
    ],
)
def test_materials_upload_extract_and_become_searchable(
    client: TestClient,
    indexer: Indexer,
    make_user: MakeUser,
    aws: AwsHarness,
    filename: str,
    content_type: str,
    body: bytes,
    word: str,
) -> None:
    owner, other = make_user("teacher", full_name="Tess Teacher"), make_user()
    created = client.post(
        "/api/v1/materials",
        json={
            "title": "Week 3",
            "description": "Handout",
            "tags": ["Biology"],
            "subject": "science",
            "filename": filename,
            "content_type": content_type,
            "size_bytes": len(body),
        },
        headers=owner.headers,
    )
    assert created.status_code == 201, created.text
    material = created.json()["material"]
    assert created.json()["upload_url"].startswith("http") and material["status"] == "awaiting_upload"
    early = client.post(f"/api/v1/materials/{material['id']}/complete", headers=owner.headers)
    assert early.status_code == 409 and early.json()["error"]["code"] == "upload_missing"

    from agents_meetings.materials.service import materials_store
    from agents_meetings.tables import MaterialModel

    materials_store().put_bytes(MaterialModel.get(material["id"]).storage_key, body, content_type=content_type)
    assert client.post(f"/api/v1/materials/{material['id']}/complete", headers=other.headers).status_code == 404
    done = client.post(f"/api/v1/materials/{material['id']}/complete", headers=owner.headers)
    assert done.status_code == 202 and done.json()["status"] == "processing"
    indexer.run()
    assert client.get(f"/api/v1/materials/{material['id']}", headers=owner.headers).json()["status"] == "ready"
    assert client.get(f"/api/v1/materials/{material['id']}", headers=other.headers).status_code == 404

    found = search(client, "", owner.headers, q=word, type="material")
    assert [hit["id"] for hit in found["results"]] == [material["id"]]
    assert found["results"][0]["document"]["owner_name"] == "Tess Teacher"
    assert search(client, "", other.headers, q=word, type="material")["total"] == 0

    assert client.delete(f"/api/v1/materials/{material['id']}", headers=other.headers).status_code == 404
    assert client.delete(f"/api/v1/materials/{material['id']}", headers=owner.headers).status_code == 204
    indexer.run()
    assert search(client, "", owner.headers, q=word, type="material")["total"] == 0


def test_materials_refuse_other_types_and_oversized_files(
    client: TestClient, indexer: Indexer, make_user: MakeUser
) -> None:
    owner = make_user("teacher")
    base = {"title": "x", "filename": "x.exe", "size_bytes": 10}
    bad_type = client.post(
        "/api/v1/materials", json={**base, "content_type": "application/x-msdownload"}, headers=owner.headers
    )
    assert bad_type.status_code == 422
    huge = client.post(
        "/api/v1/materials",
        json={**base, "filename": "x.pdf", "content_type": "application/pdf", "size_bytes": 10**10},
        headers=owner.headers,
    )
    assert huge.status_code == 422 and huge.json()["error"]["code"] == "material_too_large"
    assert client.get("/api/v1/materials", headers=owner.headers).json()["items"] == []


def test_a_stored_meeting_dated_outside_the_engines_range_does_not_poison_later_indexing(
    client: TestClient, indexer: Indexer, make_user: MakeUser
) -> None:
    from datetime import UTC, datetime

    from agents_meetings.search.indexer import request_reindex
    from agents_meetings.search.indexes import EntityType
    from agents_meetings.tables import MeetingModel, SearchIndexJobModel

    host = make_user("host")
    headers = host.headers or {}
    far = meeting(client, headers, "Far future seminar")
    indexer.run()
    # Stored before dates were bounded at the edge (or written by another path): year 3000.
    stored = MeetingModel.get(far["id"])
    stored.update(actions=[MeetingModel.scheduled_at.set(datetime(3000, 1, 1, tzinfo=UTC))])
    indexer.service.index_meeting(far["id"])
    later = meeting(client, headers, "Ordinary seminar")
    indexer.run()
    assert indexer.service.index_meeting(later["id"]) == 1
    assert titles(search(client, "/meetings", headers, q="seminar")) == {"Far future seminar", "Ordinary seminar"}
    job = request_reindex(EntityType.MEETING, host.id)
    indexer.service.run_reindex(job.id, EntityType.MEETING)
    assert SearchIndexJobModel.get(job.id).status == "indexed"
    assert titles(search(client, "/meetings", headers, q="seminar")) == {"Far future seminar", "Ordinary seminar"}
    upcoming = search(client, "/meetings", headers, q="seminar", **{"to": "2100-01-01T00:00:00Z"})
    assert titles(upcoming) == {"Ordinary seminar"}
