"""One contract for every SearchBackend: the embedded engine (tantivy), the OpenSearch adapter against
the local OpenSearch test server, and a real cluster when OPENSEARCH_URL is set."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from agents_meetings.search.backend import (
    DateRange,
    FieldSpec,
    IndexSpec,
    SearchBackend,
    SearchQuery,
    parse_user_text,
)
from agents_meetings.search.embedded import EmbeddedSearchEngine
from agents_meetings.search.opensearch import OpenSearchBackend, build_client

from tests.servers.opensearch_fake import FakeOpenSearch

pytestmark = pytest.mark.integration

LESSONS = IndexSpec(
    name="lessons",
    fields=(
        FieldSpec("id", "keyword"),
        FieldSpec("title", "text", boost=3.0),
        FieldSpec("body", "text"),
        FieldSpec("status", "keyword"),
        FieldSpec("tags", "keyword", multi=True),
        FieldSpec("is_active", "boolean"),
        FieldSpec("at", "date"),
    ),
    date_field="at",
    suggest_field="title",
)

DOCS: list[dict[str, Any]] = [
    {
        "id": "a",
        "title": "Recording the algebra lesson",
        "body": "We talk about quadratic equations and their roots.",
        "status": "ended",
        "tags": ["math", "algebra"],
        "is_active": True,
        "at": "2030-01-01T10:00:00Z",
    },
    {
        "id": "b",
        "title": "Physics recordings",
        "body": "Newton's laws of motion, with the classic apple example.",
        "status": "scheduled",
        "tags": ["science"],
        "is_active": True,
        "at": "2030-01-03T10:00:00Z",
    },
    {
        "id": "c",
        "title": "Chemistry basics",
        "body": "Atoms, molecules and the periodic table; equations of reactions.",
        "status": "scheduled",
        "tags": ["science", "chemistry"],
        "is_active": False,
        "at": "2030-01-02T10:00:00Z",
    },
    {
        "id": "d",
        "title": "Algebra review",
        "body": "Linear equations, then a quiz <script>alert(1)</script>.",
        "status": "cancelled",
        "tags": ["math"],
        "is_active": True,
        "at": "2030-01-04T10:00:00Z",
    },
]


@pytest.fixture(scope="module")
def fake_opensearch_server() -> Iterator[FakeOpenSearch]:
    server = FakeOpenSearch()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def fake_opensearch(fake_opensearch_server: FakeOpenSearch) -> str:
    return fake_opensearch_server.url


def _backends() -> list[Any]:
    kinds = [pytest.param("embedded", id="embedded"), pytest.param("opensearch-fake", id="opensearch-fake")]
    kinds.append(
        pytest.param(
            "opensearch-real",
            id="opensearch-real",
            marks=pytest.mark.skipif(not os.environ.get("OPENSEARCH_URL"), reason="OPENSEARCH_URL not set"),
        )
    )
    return kinds


@pytest.fixture(params=_backends())
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    kind = request.param
    if kind == "embedded":
        engine = EmbeddedSearchEngine(tmp_path / "index")
        yield engine
        engine.close()
        return
    if kind == "opensearch-fake":
        url = request.getfixturevalue("fake_opensearch")
        yield OpenSearchBackend(build_client(url, auth="none"), prefix=f"t{uuid.uuid4().hex[:8]}-")
        return
    url = os.environ["OPENSEARCH_URL"]
    auth = os.environ.get("OPENSEARCH_AUTH", "none")
    client = build_client(url, auth=auth, region=os.environ.get("AWS_REGION", "us-east-1"))
    prefix = f"contract-{uuid.uuid4().hex[:8]}-"
    yield OpenSearchBackend(client, prefix=prefix)
    client.indices.delete(index=f"{prefix}*", params={"ignore_unavailable": "true"})


@pytest.fixture
def loaded(backend: SearchBackend) -> SearchBackend:
    backend.ensure_index(LESSONS)
    backend.upsert(LESSONS, DOCS)
    return backend


def ids(backend: SearchBackend, **query: Any) -> list[str]:
    return [hit.id for hit in backend.search(LESSONS, SearchQuery(**query)).hits]


def test_bm25_ranks_title_matches_first(loaded: SearchBackend) -> None:
    found = ids(loaded, text="algebra")
    assert set(found) == {"a", "d"}
    assert ids(loaded, text="equations")[0] in {"a", "c", "d"}


def test_stemming_matches_word_forms(loaded: SearchBackend) -> None:
    assert set(ids(loaded, text="recordings")) == {"a", "b"}


def test_fuzzy_matching_finds_typos(loaded: SearchBackend) -> None:
    assert "a" in ids(loaded, text="recodring")
    assert set(ids(loaded, text="algerba")) == {"a", "d"}
    assert ids(loaded, text="chemestry") == ["c"]


def test_every_word_must_match(loaded: SearchBackend) -> None:
    assert ids(loaded, text="algebra review") == ["d"]
    assert ids(loaded, text="algebra zebra") == []


def test_phrase_queries_need_the_words_in_order(loaded: SearchBackend) -> None:
    assert ids(loaded, text='"quadratic equations"') == ["a"]
    assert ids(loaded, text='"equations quadratic"') == []


def test_highlighting_marks_matches_and_escapes_html(loaded: SearchBackend) -> None:
    hits = loaded.search(LESSONS, SearchQuery(text="quiz", fields=("body",))).hits
    assert [hit.id for hit in hits] == ["d"]
    fragment = hits[0].highlights["body"][0]
    assert "<mark>quiz</mark>" in fragment
    assert "<script>" not in fragment and "&lt;script&gt;" in fragment
    typo = loaded.search(LESSONS, SearchQuery(text="algerba")).hits
    assert any("<mark>Algebra</mark>" in fragment for hit in typo for fragment in hit.highlights.get("title", []))


def test_keyword_filters_and_facets(loaded: SearchBackend) -> None:
    result = loaded.search(
        LESSONS, SearchQuery(text="equations", filters={"tags": ["math"]}, facets=("status", "tags"))
    )
    assert {hit.id for hit in result.hits} == {"a", "d"}
    assert result.total == 2
    assert result.facets["status"] == {"ended": 1, "cancelled": 1}
    assert result.facets["tags"]["math"] == 2 and result.facets["tags"]["algebra"] == 1
    assert set(ids(loaded, filters={"is_active": ["false"]})) == {"c"}
    assert set(ids(loaded, filters={"status": ["scheduled", "ended"], "tags": ["science"]})) == {"b", "c"}


def test_date_range_and_sort_by_date(loaded: SearchBackend) -> None:
    assert ids(loaded, sort="date_desc") == ["d", "b", "c", "a"]
    assert ids(loaded, sort="date_asc", limit=2) == ["a", "c"]
    assert ids(loaded, sort="date_asc", limit=2, offset=2) == ["b", "d"]
    window = DateRange("at", datetime(2030, 1, 2, tzinfo=UTC), datetime(2030, 1, 3, 12, tzinfo=UTC))
    assert set(ids(loaded, date_range=window)) == {"b", "c"}


def test_paging_counts_every_match(loaded: SearchBackend) -> None:
    first = loaded.search(LESSONS, SearchQuery(text="equations", limit=1))
    second = loaded.search(LESSONS, SearchQuery(text="equations", limit=1, offset=1))
    assert first.total == second.total == 3
    assert first.hits[0].id != second.hits[0].id


def test_prefix_suggestions_respect_filters(loaded: SearchBackend) -> None:
    assert set(loaded.suggest(LESSONS, "alg")) == {"Recording the algebra lesson", "Algebra review"}
    assert loaded.suggest(LESSONS, "algebra rev") == ["Algebra review"]
    assert loaded.suggest(LESSONS, "alg", filters={"status": ["ended"]}) == ["Recording the algebra lesson"]
    assert loaded.suggest(LESSONS, "   ") == []


@pytest.mark.parametrize("text", ['"unbalanced', "title:(algebra", "AND OR NOT", "*", "a~~2 ^3 [x TO", "\\", "(((", ""])
def test_query_syntax_is_never_an_error(loaded: SearchBackend, text: str) -> None:
    result = loaded.search(LESSONS, SearchQuery(text=text, facets=("status",)))
    assert result.total >= 0
    assert parse_user_text(text).all_words == tuple(w for w in parse_user_text(text).all_words)


def test_upsert_replaces_and_delete_removes(loaded: SearchBackend) -> None:
    loaded.upsert(LESSONS, [{**DOCS[1], "title": "Astronomy tonight"}])
    assert ids(loaded, text="astronomy") == ["b"]
    assert ids(loaded, text="physics") == []
    loaded.delete(LESSONS, ["b"])
    assert ids(loaded, text="astronomy") == []
    assert loaded.count(LESSONS) == 3
    loaded.delete_matching(LESSONS, "status", "scheduled")
    assert set(ids(loaded)) == {"a", "d"}


def test_reindex_swaps_a_fresh_index_in(loaded: SearchBackend) -> None:
    fresh = [{**doc, "title": doc["title"] + " v2"} for doc in DOCS[:3]]

    def walk() -> Iterator[dict[str, Any]]:
        for position, doc in enumerate(fresh):
            if position == 1:
                # Mid-reindex: searches still see the old index in full; writes reach both.
                assert loaded.count(LESSONS) == 4
                loaded.upsert(LESSONS, [{**DOCS[3], "id": "e", "title": "Geometry written meanwhile"}])
            yield doc

    assert loaded.reindex(LESSONS, walk(), batch_size=1) == 3
    assert set(ids(loaded)) == {"a", "b", "c", "e"}
    assert ids(loaded, text="geometry") == ["e"]
    assert set(ids(loaded, text="v2")) == {"a", "b", "c"}


def test_update_matching_rewrites_a_denormalised_field_on_every_matching_document(loaded: SearchBackend) -> None:
    """A renamed parent (a meeting's title on its transcript segments): one batched call."""
    assert loaded.update_matching(LESSONS, "status", "scheduled", {"title": "Renamed science hour"}) == 2
    assert set(ids(loaded, text="renamed")) == {"b", "c"}
    assert ids(loaded, text="physics") == [] and ids(loaded, text="chemistry") == []
    # The rest of each document is kept: its other fields still match and filter.
    assert ids(loaded, text="newton") == ["b"]
    assert set(ids(loaded, text="renamed", filters={"tags": ["chemistry"]})) == {"c"}
    assert loaded.count(LESSONS) == 4
    # Idempotent: a redelivered rename changes nothing; no match changes nothing.
    assert loaded.update_matching(LESSONS, "status", "scheduled", {"title": "Renamed science hour"}) == 0
    assert loaded.update_matching(LESSONS, "status", "archived", {"title": "x"}) == 0
    assert ids(loaded, text="x") == []


def test_update_matching_is_one_batch_for_hundreds_of_documents(backend: SearchBackend, request: Any) -> None:
    backend.ensure_index(LESSONS)
    many = [{**DOCS[0], "id": f"seg-{n}", "status": "m1" if n % 2 == 0 else "m2"} for n in range(600)]
    backend.upsert(LESSONS, many)
    fake = request.node.callspec.params.get("backend") == "opensearch-fake"
    server_requests = request.getfixturevalue("fake_opensearch_server").requests if fake else None
    before = len(server_requests) if server_requests is not None else 0
    assert backend.update_matching(LESSONS, "status", "m1", {"title": "Statistics seminar"}) == 300
    if server_requests is not None:
        calls = [path for _, path in server_requests[before:] if path.endswith("/_update_by_query")]
        assert len(calls) == 1 and len(server_requests) - before <= 3  # alias lookup + one update
    result = backend.search(LESSONS, SearchQuery(text="statistics", limit=1, highlight=False))
    assert result.total == 300
    assert backend.search(LESSONS, SearchQuery(text="algebra", filters={"status": ["m2"]})).total == 300


def test_update_matching_during_a_reindex_reaches_the_fresh_index(loaded: SearchBackend) -> None:
    def walk() -> Iterator[dict[str, Any]]:
        for position, doc in enumerate(DOCS):
            if position == 2:
                loaded.update_matching(LESSONS, "status", "scheduled", {"title": "Renamed meanwhile"})
            yield doc

    loaded.reindex(LESSONS, walk(), batch_size=1)
    # b was already in the index being built when the rename ran: the swapped-in index has it
    # renamed (c, written after the rename, is whatever the walk's source said).
    assert ids(loaded, text="meanwhile") == ["b"]
