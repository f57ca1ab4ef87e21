"""The SearchBackend port: index definitions, the query model and results both engines speak.

The query model is deliberately small: the user's words (never parsed as query syntax: quoted
runs are phrases, everything else is plain words, each matched exactly, by stem or fuzzily),
keyword filters (OR within a field, AND across fields; permissions are such filters), a date
range, facets, sort and paging. The embedded engine (tantivy) and OpenSearch implement it alike
and pass one contract suite (tests/integration/test_search_contract.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

# nested: kept in the document (OpenSearch maps it nested) but searched through flattened copies.
FieldKind = Literal["text", "keyword", "date", "number", "boolean", "nested"]
SortOrder = Literal["relevance", "date_desc", "date_asc"]

HIGHLIGHT_PRE = "<mark>"
HIGHLIGHT_POST = "</mark>"
# Words longer than this are ignored (no term is that long; protects the fuzzy automaton).
MAX_WORD_LENGTH = 40
MAX_WORDS = 16
_WORD = re.compile(r"\w+", re.UNICODE)
_PHRASE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: FieldKind
    boost: float = 1.0  # text fields: weight in relevance
    multi: bool = False  # keyword fields holding several values (tags, languages)


@dataclass(frozen=True)
class IndexSpec:
    """One logical index (an alias in OpenSearch). ``id`` is always a keyword field."""

    name: str
    fields: tuple[FieldSpec, ...]
    date_field: str
    suggest_field: str  # the text field whose values autocomplete offers

    @property
    def text_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.kind == "text")

    @property
    def keyword_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.kind in ("keyword", "boolean"))

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


@dataclass(frozen=True)
class ParsedText:
    """What the user typed, as words and phrases; nothing in it is ever query syntax."""

    words: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]

    @property
    def empty(self) -> bool:
        return not self.words and not self.phrases

    @property
    def all_words(self) -> tuple[str, ...]:
        return (*self.words, *(w for phrase in self.phrases for w in phrase))


def words_of(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if len(w) <= MAX_WORD_LENGTH]


def parse_user_text(text: str | None) -> ParsedText:
    """Quoted runs become phrases, the rest plain words; an unbalanced quote is just a character."""
    text = (text or "")[:1000]
    phrases: list[tuple[str, ...]] = []

    def take(match: re.Match[str]) -> str:
        words = tuple(words_of(match.group(1)))
        if len(words) > 1:
            phrases.append(words)
            return " "
        return " " + " ".join(words) + " "

    rest = _PHRASE.sub(take, text)
    words = list(dict.fromkeys(words_of(rest)))
    budget = MAX_WORDS
    kept_phrases = []
    for phrase in phrases:
        if budget - len(phrase) < 0:
            break
        kept_phrases.append(phrase)
        budget -= len(phrase)
    return ParsedText(words=tuple(words[: max(budget, 0)]), phrases=tuple(kept_phrases))


def fuzziness(word: str) -> int:
    """OpenSearch's AUTO fuzziness: exact up to 2 characters, one edit up to 5, two beyond."""
    if len(word) <= 2:
        return 0
    return 1 if len(word) <= 5 else 2


@dataclass(frozen=True)
class DateRange:
    field: str
    gte: datetime | None = None
    lte: datetime | None = None


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None
    # field -> accepted values (a document matches if it has any of them); all fields must match.
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    date_range: DateRange | None = None
    # Text fields searched; empty: every text field of the index.
    fields: tuple[str, ...] = ()
    facets: tuple[str, ...] = ()
    sort: SortOrder = "relevance"
    limit: int = 20
    offset: int = 0
    highlight: bool = True


@dataclass(frozen=True)
class SearchHit:
    id: str
    score: float
    source: dict[str, Any]
    highlights: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class SearchBackend(Protocol):
    """What the platform needs from a search engine. Documents are flat JSON dicts with ``id``."""

    def ensure_index(self, spec: IndexSpec) -> None:
        """Create the index (and its alias) if missing; idempotent."""
        ...

    def upsert(self, spec: IndexSpec, documents: Sequence[dict[str, Any]]) -> None:
        """Index (insert or replace by ``id``) in bulk; searchable when this returns."""
        ...

    def delete(self, spec: IndexSpec, ids: Sequence[str]) -> None: ...

    def delete_matching(self, spec: IndexSpec, field_name: str, value: str) -> None:
        """Delete every document whose keyword ``field_name`` is ``value``."""
        ...

    def update_matching(self, spec: IndexSpec, field_name: str, value: str, changes: Mapping[str, Any]) -> int:
        """Set ``changes`` (top-level fields) on every document whose keyword ``field_name`` is
        ``value``, in one batched operation (OpenSearch: one ``_update_by_query``; never a round
        trip per document); searchable when this returns. Idempotent: documents that already hold
        the values are left alone. Returns how many documents changed."""
        ...

    def search(self, spec: IndexSpec, query: SearchQuery) -> SearchResult: ...

    def suggest(
        self, spec: IndexSpec, prefix: str, *, filters: Mapping[str, Sequence[str]] | None = None, limit: int = 8
    ) -> list[str]:
        """Values of the suggest field whose words start with what was typed (the last word a prefix)."""
        ...

    def reindex(self, spec: IndexSpec, documents: Iterable[dict[str, Any]], *, batch_size: int = 500) -> int:
        """Build a fresh index from ``documents`` and swap it in atomically (searches never see a
        partial index; writes made meanwhile reach both). Returns the number indexed."""
        ...

    def count(self, spec: IndexSpec) -> int: ...
