"""Search & discovery through the local runtime (spec 1.3): meetings, users and a transcript are
created, the indexer worker picks the events up from the bus, and they are found with typos,
filters and facets, with highlights and timestamps, within permissions, and through a reindex."""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform, wait_for

pytestmark = pytest.mark.e2e


def login(api: httpx.Client, email: str, password: str) -> dict[str, str]:
    response = api.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def approved_user(
    api: httpx.Client, admin: dict[str, str], name: str, role: str = "participant"
) -> tuple[str, str, dict[str, str]]:
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.com"
    password = "Search-Passw0rd-123!"
    response = api.post("/api/v1/auth/register", json={"email": email, "password": password, "full_name": name})
    assert response.status_code == 201, response.text
    user_id = response.json()["id"]
    assert api.post(f"/api/v1/admin/users/{user_id}/approve", headers=admin).status_code == 200
    if role != "participant":
        assert api.put(f"/api/v1/admin/users/{user_id}/role", headers=admin, json={"role": role}).status_code == 200
    return user_id, email, login(api, email, password)


def results(api: httpx.Client, path: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = api.get(f"/api/v1/search{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def embedded_aws_url(platform: RunningPlatform) -> str:
    found = re.search(r"Embedded AWS\s+(\S+)", platform.log_path.read_text())
    assert found, "the runtime prints its embedded AWS endpoint"
    return found.group(1)


def aws_client(platform: RunningPlatform, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=embedded_aws_url(platform),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_search_meetings_users_and_transcripts_end_to_end(api: httpx.Client, platform: RunningPlatform) -> None:
    admin = login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
    tag = uuid.uuid4().hex[:6]
    host_id, _, host = approved_user(api, admin, f"Hypatia Searchhost{tag}", "teacher")
    student_id, _, student = approved_user(api, admin, f"Sam Student{tag}")
    _, stranger_email, stranger = approved_user(api, admin, f"Stella Stranger{tag}")

    when = (datetime.now(UTC) + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    created = {}
    for title, tags, languages in (
        (f"Astronomy {tag} night", ["science"], ["en"]),
        (f"Astronomy {tag} review", ["science", "exam"], ["en", "es"]),
        (f"Poetry {tag} circle", ["arts"], ["fr"]),
    ):
        response = api.post(
            "/api/v1/meetings",
            headers=host,
            json={"title": title, "scheduled_at": when, "tags": tags, "languages": languages},
        )
        assert response.status_code == 201, response.text
        created[title] = response.json()
    night = created[f"Astronomy {tag} night"]
    invite = api.post(f"/api/v1/meetings/{night['id']}/participants", headers=host, json={"user_ids": [student_id]})
    assert invite.status_code in (200, 201), invite.text

    # Typos find them as soon as the indexer has seen the events (seconds, not minutes).
    found = wait_for(lambda: results(api, "/meetings", host, q=f"astronmy {tag}")["total"] == 2 or None, timeout=20)
    assert found
    body = results(api, "/meetings", host, q=f"astronmy {tag}")
    assert all("<mark>Astronomy</mark>" in hit["highlights"]["title"][0] for hit in body["results"])
    assert body["facets"]["tags"] == {"science": 2, "exam": 1}
    assert body["facets"]["languages"] == {"en": 2, "es": 1}
    filtered = results(api, "/meetings", host, q=f"astronomy {tag}", language="es")
    assert [hit["document"]["title"] for hit in filtered["results"]] == [f"Astronomy {tag} review"]
    everything = results(api, "", host, q=f"astronomy {tag}", type="meeting", filters="tags:exam")
    assert everything["total"] == 1

    # Permissions are part of the query.
    wait_for(lambda: results(api, "/meetings", student, q=f"astronomy {tag}")["total"] == 1 or None, timeout=20)
    assert results(api, "/meetings", stranger, q=f"astronomy {tag}")["total"] == 0
    assert results(api, "/meetings", admin, q=f"{tag}")["total"] == 3

    # A meeting update is searchable within seconds.
    patched = api.patch(
        f"/api/v1/meetings/{created[f'Poetry {tag} circle']['id']}",
        headers=host,
        json={"title": f"Sonnets {tag} circle"},
    )
    assert patched.status_code == 200, patched.text
    wait_for(lambda: results(api, "/meetings", host, q=f"sonets {tag}")["total"] == 1 or None, timeout=20)

    # Users: names for everyone, emails for admins only.
    people = wait_for(lambda: results(api, "/users", student, q=f"stranger{tag}")["results"] or None, timeout=20)
    assert people[0]["document"]["full_name"] == f"Stella Stranger{tag}" and "email" not in people[0]["document"]
    admin_people = results(api, "/users", admin, q=f"stranger{tag}")["results"]
    assert admin_people[0]["document"]["email"] == stranger_email
    assert results(api, "/suggest", student, q=f"stella stranger{tag[:3]}", type="user")["suggestions"] == [
        f"Stella Stranger{tag}"
    ]

    # A transcript (written as the transcription pipeline writes it) announced on the bus.
    recording_id = f"rec-{tag}"
    key = f"transcripts/{recording_id}/en.json"
    transcript = {
        "recording_id": recording_id,
        "language": "en",
        "provider": "e2e",
        "duration": 130.0,
        "segments": [
            {"id": 0, "speaker": "teacher", "start": 0.0, "end": 5.0, "text": "Welcome to the night sky.", "words": []},
            {
                "id": 1,
                "speaker": "teacher",
                "start": 65.2,
                "end": 70.0,
                "text": f"Jupiter {tag} has many moons.",
                "words": [],
            },
            {"id": 2, "speaker": "student", "start": 70.0, "end": 75.0, "text": "How many exactly?", "words": []},
        ],
    }
    aws_client(platform, "s3").put_object(Bucket="recordings", Key=key, Body=json.dumps(transcript).encode())
    detail = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "recording_id": recording_id,
        "meeting_id": night["id"],
        "host_id": host_id,
        "language": "en",
        "transcription_job_id": f"tj-{tag}",
        "storage_path": f"s3://recordings/{key}",
    }
    put = aws_client(platform, "events").put_events(
        Entries=[
            {
                "Source": "agents-meetings.recordings",
                "DetailType": "TranscriptReady",
                "Detail": json.dumps(detail),
                "EventBusName": "agents-meetings",
            }
        ]
    )
    assert put["FailedEntryCount"] == 0
    segments = wait_for(lambda: results(api, "/transcripts", student, q=f"jupitr {tag}")["results"] or None, timeout=20)
    hit = segments[0]
    assert "<mark>Jupiter</mark>" in hit["highlight"]
    assert hit["timestamp"] == "0:01:05" and hit["recording_url"] == f"/api/v1/recordings/{recording_id}?t=65"
    assert hit["context_before"] == "Welcome to the night sky." and hit["context_after"] == "How many exactly?"
    assert results(api, "/transcripts", stranger, q=f"jupiter {tag}")["total"] == 0
    assert results(api, "/transcripts", host, q=f"{tag}", speaker="teacher")["facets"]["speaker"] == {"teacher": 1}

    # Reindex: searches keep answering in full while the index is rebuilt and swapped.
    expected = {hit["id"] for hit in results(api, "/meetings", admin, q=tag)["results"]}
    seen_counts: list[int] = []
    stop = threading.Event()

    def keep_searching() -> None:
        with httpx.Client(base_url=platform.base_url, timeout=30) as watcher:
            while not stop.is_set():
                response = watcher.get("/api/v1/search/meetings", params={"q": tag}, headers=admin)
                seen_counts.append(response.json()["total"] if response.status_code == 200 else -1)

    watcher = threading.Thread(target=keep_searching)
    watcher.start()
    try:
        started = api.post("/api/v1/admin/search/reindex", headers=admin, json={"entity_type": "meeting"})
        assert started.status_code == 202, started.text
        job_id = started.json()["id"]
        done = wait_for(
            lambda: (
                api.get(f"/api/v1/admin/search/jobs/{job_id}", headers=admin).json()
                if api.get(f"/api/v1/admin/search/jobs/{job_id}", headers=admin).json()["status"] == "indexed"
                else None
            ),
            timeout=60,
        )
    finally:
        stop.set()
        watcher.join()
    assert done["documents"] >= 3
    assert seen_counts and set(seen_counts) == {3}, "no result was lost during the reindex"
    assert {hit["id"] for hit in results(api, "/meetings", admin, q=tag)["results"]} == expected
    assert results(api, "/meetings", host, q=f"astronmy {tag}")["total"] == 2
