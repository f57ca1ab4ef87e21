"""Cursor encoding, page assembly and the key names a cursor is made of."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest
from agents_meetings.errors import InvalidRequest
from agents_meetings.pagination import decode_cursor, encode_cursor, index_key_names, paginate
from agents_meetings.tables import AuditLogModel, MeetingModel, ParticipantModel, UserModel

pytestmark = pytest.mark.unit


def test_a_cursor_round_trips_its_state() -> None:
    state = {"id": {"S": "7d0b5a4e"}, "created_at": {"S": "2026-01-01T00:00:00.000000+0000"}, "n": 3}
    cursor = encode_cursor(state)
    assert decode_cursor(cursor) == state


def test_a_cursor_is_url_safe_without_padding() -> None:
    cursor = encode_cursor({"k": "??>>~~" * 7})
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor


@pytest.mark.parametrize("cursor", [None, ""])
def test_no_cursor_means_the_first_page(cursor: str | None) -> None:
    assert decode_cursor(cursor) is None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor at all!",
        "%%%%",
        "a",  # one base64 character cannot be decoded
        _b64(b"{not json"),
        _b64(json.dumps([1, 2, 3]).encode()),
        _b64(json.dumps("a string").encode()),
        _b64(json.dumps(42).encode()),
        _b64(b"\xff\xfe\xfa"),
    ],
)
def test_a_bad_cursor_is_an_invalid_request_400(cursor: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        decode_cursor(cursor)
    assert raised.value.status_code == 400
    assert raised.value.code == "invalid_cursor"


@dataclass
class FakeItem:
    """Stands in for a pynamodb item: only ``serialize`` is used by ``key_of``."""

    pk: str
    value: int

    def serialize(self) -> dict[str, Any]:
        return {"pk": {"S": self.pk}, "value": {"N": str(self.value)}}


def _run_query(items: list[FakeItem], calls: list[Any]) -> Any:
    def run(start_key: dict[str, Any] | None) -> Any:
        calls.append(start_key)
        start = 0
        if start_key is not None:
            start = next(i for i, item in enumerate(items) if item.pk == start_key["pk"]["S"]) + 1
        return iter(items[start:])

    return run


def test_paginate_returns_a_page_and_the_key_of_its_last_item() -> None:
    items = [FakeItem(f"k{i}", i) for i in range(5)]
    calls: list[Any] = []
    page, last = paginate(_run_query(items, calls), key_names=["pk"], limit=2, cursor_key=None)
    assert [i.pk for i in page] == ["k0", "k1"]
    assert last == {"pk": {"S": "k1"}}
    assert calls == [None]


def test_paginate_walks_every_item_once_across_pages() -> None:
    items = [FakeItem(f"k{i}", i) for i in range(7)]
    seen: list[str] = []
    cursor_key = None
    for _ in range(10):
        page, cursor_key = paginate(_run_query(items, []), key_names=["pk"], limit=3, cursor_key=cursor_key)
        seen.extend(i.pk for i in page)
        if cursor_key is None:
            break
    assert seen == [f"k{i}" for i in range(7)]


def test_a_page_that_ends_the_listing_exactly_has_no_cursor() -> None:
    items = [FakeItem(f"k{i}", i) for i in range(4)]
    page, last = paginate(_run_query(items, []), key_names=["pk"], limit=4, cursor_key=None)
    assert len(page) == 4 and last is None


def test_filtered_out_items_never_count_towards_the_page_nor_end_it() -> None:
    items = [FakeItem(f"k{i}", i) for i in range(10)]
    page, last = paginate(
        _run_query(items, []), key_names=["pk"], limit=2, cursor_key=None, keep=lambda item: item.value % 3 == 0
    )
    assert [i.value for i in page] == [0, 3]
    assert last == {"pk": {"S": "k3"}}  # the last item returned, not the last one read
    page, last = paginate(
        _run_query(items, []), key_names=["pk"], limit=2, cursor_key=last, keep=lambda item: item.value % 3 == 0
    )
    assert [i.value for i in page] == [6, 9] and last is None


def test_index_key_names_are_the_table_key_plus_the_index_key() -> None:
    def names(model: Any, index: str | None = None) -> tuple[list[str], set[str]]:
        found = index_key_names(model, index)
        table_key = index_key_names(model)
        assert found[: len(table_key)] == table_key, "the table key comes first"
        return table_key, set(found)

    assert names(UserModel) == (["id"], {"id"})
    assert names(UserModel, "by_status")[1] == {"id", "status", "created_at"}
    assert names(UserModel, "by_role")[1] == {"id", "role", "created_at"}
    assert names(UserModel, "by_active")[1] == {"id", "active_key", "created_at"}
    assert names(MeetingModel, "by_status")[1] == {"id", "status", "scheduled_at"}
    assert names(MeetingModel, "by_host")[1] == {"id", "host_id", "scheduled_at"}
    assert names(ParticipantModel) == (["meeting_id", "user_id"], {"meeting_id", "user_id"})
    assert names(ParticipantModel, "by_user")[1] == {"meeting_id", "user_id", "scheduled_at"}
    assert names(ParticipantModel, "by_meeting_status")[1] == {"meeting_id", "user_id", "status"}
    assert names(AuditLogModel, "by_target")[1] == {"month", "sort_key", "target_id"}
