"""Request and response bodies (pydantic) with examples, shared by the routers and OpenAPI."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from agents_meetings.clock import isoformat_z

# --- instants ------------------------------------------------------------------------------

# Dates a client may send, in bodies and query strings alike. Far outside any meeting's life and
# inside every engine's range (DynamoDB strings, OpenSearch, tantivy's 1677-2262).
EARLIEST_DATETIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_DATETIME = datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_DATETIME_EXAMPLE = "e.g. 2026-12-01T15:00:00Z"


def _iso_8601_text(value: Any) -> Any:
    # pydantic would also read numbers (and numeric text, as in ?to=0.5) as Unix timestamps.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATETIME.match(value):
        raise ValueError(f"must be an ISO-8601 date and time with a timezone, {_DATETIME_EXAMPLE}")
    return value


def _bounded_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"include a timezone, {_DATETIME_EXAMPLE}")
    if not EARLIEST_DATETIME <= value <= LATEST_DATETIME:
        raise ValueError(f"must be between {isoformat_z(EARLIEST_DATETIME)} and {isoformat_z(LATEST_DATETIME)}")
    return value


UtcDateTime = Annotated[datetime, PlainSerializer(lambda v: isoformat_z(v), return_type=str)]
BoundedDateTime = Annotated[datetime, BeforeValidator(_iso_8601_text), AfterValidator(_bounded_utc)]
"""An instant from a client (bodies and query parameters): ISO-8601 text with a timezone, years
1970-2100. Anything else is a 422 in the error shape, never a 500 further down."""

# --- text ----------------------------------------------------------------------------------

# Control characters (Unicode Cc: U+0000-U+001F, U+007F-U+009F) and the bidirectional embedding,
# override and isolate characters, which make text display other than it reads ("Trojan Source").
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_FORBIDDEN_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")
_FORBIDDEN_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")  # \t \n \r allowed


def _refuse(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found is not None:
            char = found.group()
            kind = "bidirectional control" if "\u202a" <= char <= "\u2069" else "control"
            raise ValueError(f"must not contain {kind} characters (found U+{ord(char):04X}); {what}")
        return value

    return AfterValidator(check)


LINE_CHECK = _refuse(_FORBIDDEN_IN_LINE, "plain text on one line")
TEXT_CHECK = _refuse(_FORBIDDEN_IN_TEXT, "plain text (tabs and line breaks are fine)")
PlainLine = Annotated[str, LINE_CHECK]
"""User-visible text on one line (names, titles, tags, ...): no control or bidi-override characters."""
PlainText = Annotated[str, TEXT_CHECK]
"""User-visible text that may span lines (descriptions, messages): tabs and line breaks allowed."""

# The check goes after the constraints: pydantic strips and measures first.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), LINE_CHECK]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), LINE_CHECK]
ShortText = Annotated[str, StringConstraints(max_length=5000), TEXT_CHECK]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), LINE_CHECK]
TimezoneName = Annotated[str, StringConstraints(min_length=1, max_length=64), LINE_CHECK]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")
