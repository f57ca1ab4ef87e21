"""Cursor pagination over DynamoDB queries: ``limit`` and an opaque ``cursor`` in, a ``Page`` out.

The cursor is the DynamoDB key of the last item returned (not the page's LastEvaluatedKey), so
that Python-side filters never skip or repeat an item between pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pynamodb.models import Model

from agents_meetings.errors import InvalidRequest

T = TypeVar("T")
M = TypeVar("M", bound=Model)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("The cursor is not valid; start again without one.", code="invalid_cursor") from exc
    if not isinstance(state, dict):
        raise InvalidRequest("The cursor is not valid; start again without one.", code="invalid_cursor")
    return state


def key_of(item: Model, key_names: Iterable[str]) -> dict[str, Any]:
    """The item's key in DynamoDB wire form, for the table plus the index being queried."""
    serialized = item.serialize()
    return {name: serialized[name] for name in key_names}


def index_key_names(model: type[Model], index_name: str | None = None) -> list[str]:
    """Key attribute names that make up a LastEvaluatedKey on the table or one of its indexes."""
    names = [name for name, attr in model.get_attributes().items() if attr.is_hash_key or attr.is_range_key]
    if index_name:
        index = next(i for i in model._indexes.values() if i.Meta.index_name == index_name)
        for attr in index.Meta.attributes.values():
            if attr.attr_name not in names:
                names.append(attr.attr_name)
    return [model.get_attributes()[n].attr_name or n for n in names]


def check_cursor_key(cursor_key: dict[str, Any] | None, key_names: list[str]) -> dict[str, Any] | None:
    """A cursor must be a key of this listing: exactly its key attributes, each a DynamoDB string or
    number. Anything else (tampered, or from another listing) is a 400, never a database error."""
    if cursor_key is None:
        return None
    valid = set(cursor_key) == set(key_names) and all(
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in ("S", "N")
        and isinstance(next(iter(value.values())), str)
        for value in cursor_key.values()
    )
    if not valid:
        raise InvalidRequest(
            "The cursor does not belong to this listing; start again without one.", code="invalid_cursor"
        )
    return cursor_key


def paginate(
    run_query: Callable[[dict[str, Any] | None], Iterable[M]],
    *,
    key_names: list[str],
    limit: int,
    cursor_key: dict[str, Any] | None,
    keep: Callable[[M], bool] | None = None,
) -> tuple[list[M], dict[str, Any] | None]:
    """Collect up to ``limit`` items that pass ``keep``; return them and the key to resume after.

    ``run_query(start_key)`` must return pynamodb's lazy result iterator so that pages are only
    fetched while more items are needed. One extra matching item is looked for so that the
    last page has no cursor.
    """
    items: list[M] = []
    iterator: Iterator[M] = iter(run_query(check_cursor_key(cursor_key, key_names)))
    for item in iterator:
        if keep is not None and not keep(item):
            continue
        if len(items) == limit:
            return items, key_of(items[-1], key_names)
        items.append(item)
    return items, None
