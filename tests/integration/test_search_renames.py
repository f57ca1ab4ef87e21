"""Renames reach the denormalised copies in the search indexes from the change's own event, without
a full reindex (issue 11, section 6): a meeting's title on its transcript segments, a user's name on
the meetings they host or attend."""

from __future__ import annotations

from typing import Any

import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.search.backend import SearchQuery
from agents_meetings.search.embedded import EmbeddedSearchEngine
from agents_meetings.search.indexes import TRANSCRIPTS
from fastapi.testclient import TestClient
from test_search_api import Indexer, indexer, meeting, put_transcript, search, titles, transcript_ready

from tests.conftest import AwsHarness, MakeUser

pytestmark = pytest.mark.integration
__all__ = ["indexer"]  # the fixture, imported for these tests

SEGMENTS = 1_000


def by_meeting_title(indexer: Indexer, text: str) -> int:
    """Transcript segments whose copy of the meeting's title matches (the API searches their text)."""
    query = SearchQuery(text=text, fields=("meeting_title",), limit=1, highlight=False)
    return indexer.service.backend.search(TRANSCRIPTS, query).total


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the engine was asked for a full reindex or a batched update."""
    counted = {"reindex": 0, "update_matching": 0}
    for name in counted:
        original = getattr(EmbeddedSearchEngine, name)

        def counting(self: Any, *args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            counted[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(EmbeddedSearchEngine, name, counting)
    return counted


def test_a_renamed_meeting_is_found_by_its_new_title_on_its_transcript_segments(
    client: TestClient, indexer: Indexer, make_user: MakeUser, aws: AwsHarness, calls: dict[str, int]
) -> None:
    host = make_user("host")
    headers = host.headers or {}
    lesson = meeting(client, headers, "Draft lesson")
    segments = [("teacher", float(n), n + 1.0, f"Segment number {n} about cells.") for n in range(SEGMENTS)]
    transcript_ready(aws, lesson, "rec-big", put_transcript(aws, "rec-big", segments))
    indexer.run()
    assert by_meeting_title(indexer, "draft") == SEGMENTS

    patched = client.patch(f"/api/v1/meetings/{lesson['id']}", json={"title": "Mitochondria"}, headers=headers)
    assert patched.status_code == 200, patched.text
    indexer.run()

    assert by_meeting_title(indexer, "mitochondria") == SEGMENTS
    assert by_meeting_title(indexer, "draft") == 0
    found = search(client, "/transcripts", headers, q="cells", limit=5)
    assert found["total"] == SEGMENTS
    assert {hit["meeting_title"] for hit in found["results"]} == {"Mitochondria"}
    assert calls == {"reindex": 0, "update_matching": 1}  # one batched update for every segment

    # A redelivered event changes nothing more.
    update = aws.events_of(DomainEvent.MEETING_UPDATED)[-1]
    indexer.service.apply(DomainEvent.MEETING_UPDATED, update)
    assert by_meeting_title(indexer, "mitochondria") == SEGMENTS


def test_a_renamed_host_and_attendee_are_found_by_their_new_names_on_their_meetings(
    client: TestClient, indexer: Indexer, make_user: MakeUser, calls: dict[str, int]
) -> None:
    host = make_user("host", full_name="Hana Host")
    attendee = make_user(full_name="Ada Attendee")
    hosted = [meeting(client, host.headers or {}, f"Seminar {n}") for n in range(3)]
    invited = client.post(
        f"/api/v1/meetings/{hosted[0]['id']}/participants", json={"user_ids": [attendee.id]}, headers=host.headers
    )
    assert invited.status_code == 200, invited.text
    indexer.run()
    assert search(client, "/meetings", host.headers, q="hana")["total"] == 3

    assert client.patch("/api/v1/users/me", json={"full_name": "Zelda Zimmer"}, headers=host.headers).status_code == 200
    assert (
        client.patch("/api/v1/users/me", json={"full_name": "Quentin Quill"}, headers=attendee.headers).status_code
        == 200
    )
    indexer.run()

    assert titles(search(client, "/meetings", host.headers, q="zelda")) == {"Seminar 0", "Seminar 1", "Seminar 2"}
    assert search(client, "/meetings", host.headers, q="hana")["total"] == 0
    assert titles(search(client, "/meetings", host.headers, q="quentin")) == {"Seminar 0"}
    assert search(client, "/meetings", host.headers, q="ada")["total"] == 0
    [document] = [r["document"] for r in search(client, "/meetings", host.headers, q="quentin")["results"]]
    assert document["host_name"] == "Zelda Zimmer"
    assert calls["reindex"] == 0


def test_a_profile_change_without_a_new_name_touches_no_meeting(
    client: TestClient, indexer: Indexer, make_user: MakeUser, calls: dict[str, int]
) -> None:
    host = make_user("host", full_name="Hana Host")
    meeting(client, host.headers or {}, "Seminar")
    indexer.run()
    assert client.patch("/api/v1/users/me", json={"bio": "Teaches"}, headers=host.headers).status_code == 200
    indexer.run()
    assert calls == {"reindex": 0, "update_matching": 0}
    assert search(client, "/meetings", host.headers, q="hana")["total"] == 1
