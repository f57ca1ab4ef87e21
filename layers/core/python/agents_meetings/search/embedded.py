"""The embedded search engine: tantivy (BM25, Rust) on local disk, one writer per index per process.

Layout: ``<root>/<index>/<generation>/`` holds one physical index, ``<root>/<index>/CURRENT`` names
the live generation (the alias). A reindex builds the next generation beside it and swaps
CURRENT with an atomic rename; writes made during the build reach both generations.

Each text field is indexed twice: stemmed (``en_stem``, ranked by BM25) and plain lower-cased
(``<field>__plain``), which fuzzy and prefix matching need (they must see the unstemmed words).
Keyword fields are raw and fast (filters and facets); the document itself is kept as stored JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import tantivy

from agents_meetings.search.backend import (
    IndexSpec,
    ParsedText,
    SearchHit,
    SearchQuery,
    SearchResult,
    fuzziness,
    parse_user_text,
    words_of,
)
from agents_meetings.search.highlight import highlight

SOURCE = "_source"
PLAIN = "__plain"
DEFAULT_WRITER_HEAP = 20_000_000
FUZZY_BOOST = 0.5  # a typo match ranks below an exact or stemmed one
UPDATE_PAGE = 1000  # documents read per page by update_matching (written back in one commit)
_analyzer = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.lowercase())
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    tokens = _analyzer.analyze(word)
    return str(tokens[0]) if tokens else word


def _schema(spec: IndexSpec) -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    for field in spec.fields:
        if field.name == "id":
            continue
        if field.kind == "text":
            builder.add_text_field(field.name, tokenizer_name="en_stem")
            builder.add_text_field(field.name + PLAIN, tokenizer_name="default")
        elif field.kind in ("keyword", "boolean"):
            builder.add_text_field(field.name, tokenizer_name="raw", fast=True)
        elif field.kind == "date":
            builder.add_date_field(field.name, indexed=True, fast=True)
        elif field.kind == "number":
            builder.add_float_field(field.name, indexed=True, fast=True)
    builder.add_bytes_field(SOURCE, stored=True)
    return builder.build()


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return _within_engine_range(moment)


def _within_engine_range(moment: datetime) -> datetime:
    """tantivy stores dates as i64 nanoseconds (years 1677-2262). A date beyond, already stored (the
    API bounds new ones), is indexed at the nearest end rather than failing its whole batch; the
    document's stored source keeps the true value."""
    return min(max(moment, tantivy.MIN_DATETIME), tantivy.MAX_DATETIME)


def _keyword_values(value: Any) -> list[str]:
    if value is None:
        return []
    values = value if isinstance(value, list | tuple) else [value]
    return [("true" if v else "false") if isinstance(v, bool) else str(v) for v in values if v is not None]


class _PhysicalIndex:
    """One generation on disk: its tantivy index and (lazily) its single writer."""

    def __init__(self, path: Path, spec: IndexSpec, heap: int):
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.schema = _schema(spec)
        self.index = tantivy.Index(self.schema, path=str(path), reuse=True)
        self._heap = heap
        self._writer: Any = None

    @property
    def writer(self) -> Any:
        if self._writer is None:
            self._writer = self.index.writer(self._heap, 1)
        return self._writer

    def document(self, spec: IndexSpec, source: dict[str, Any]) -> tantivy.Document:
        values: dict[str, Any] = {"id": [str(source["id"])]}
        for field in spec.fields:
            value = source.get(field.name)
            if field.name == "id" or value is None:
                continue
            kind = field.kind
            if kind == "text":
                text = " ".join(str(v) for v in value) if isinstance(value, list) else str(value)
                values[field.name] = values[field.name + PLAIN] = [text]
            elif kind == "keyword" or kind == "boolean":
                values[field.name] = _keyword_values(value)
            elif kind == "date":
                moment = _as_datetime(value)
                if moment is not None:
                    values[field.name] = [moment]
            elif kind == "number":
                values[field.name] = [float(value)]
        values[SOURCE] = [json.dumps(source, default=str).encode()]
        return tantivy.Document.from_dict(values, self.schema)

    def write(self, spec: IndexSpec, documents: Sequence[dict[str, Any]], deletes: Sequence[str] = ()) -> None:
        writer = self.writer
        try:
            for doc_id in deletes:
                writer.delete_documents_by_term("id", doc_id)
            for source in documents:
                writer.delete_documents_by_term("id", str(source["id"]))
                writer.add_document(self.document(spec, source))
        except Exception:
            # A document that cannot be built must not leave its batch's deletes pending for the
            # next commit (that would drop documents another write never meant to remove).
            writer.rollback()
            raise
        writer.commit()
        self.index.reload()

    def delete_matching(self, field_name: str, value: str) -> None:
        self.writer.delete_documents_by_term(field_name, value)
        self.writer.commit()
        self.index.reload()

    def update_matching(self, spec: IndexSpec, field_name: str, value: str, changes: Mapping[str, Any]) -> int:
        """Rewrite the matching documents from their stored source in one commit (tantivy has no
        in-place update; one commit for the whole batch is its update-by-query)."""
        self.index.reload()
        searcher = self.index.searcher()
        query = tantivy.Query.term_query(self.schema, field_name, value)
        changed: list[dict[str, Any]] = []
        offset = 0
        while True:
            found = searcher.search(query, UPDATE_PAGE, offset=offset)
            for _score, address in found.hits:
                source = json.loads(bytes(searcher.doc(address)[SOURCE][0]))
                if any(source.get(name) != new for name, new in changes.items()):
                    changed.append({**source, **changes})
            if len(found.hits) < UPDATE_PAGE:
                break
            offset += UPDATE_PAGE
        if changed:
            self.write(spec, changed)
        return len(changed)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None


class EmbeddedSearchEngine:
    """The SearchBackend for the local runtime and tests. Thread-safe; share one per process."""

    def __init__(self, root: Path, *, writer_heap: int = DEFAULT_WRITER_HEAP):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._heap = writer_heap
        self._live: dict[str, _PhysicalIndex] = {}
        self._building: dict[str, _PhysicalIndex] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    # --- index lifecycle -----------------------------------------------------------------

    def _lock(self, name: str) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(name, threading.RLock())

    def _current_file(self, spec: IndexSpec) -> Path:
        return self.root / spec.name / "CURRENT"

    def ensure_index(self, spec: IndexSpec) -> None:
        self._live_index(spec)

    def _live_index(self, spec: IndexSpec) -> _PhysicalIndex:
        live = self._live.get(spec.name)
        if live is not None:
            return live
        with self._lock(spec.name):
            if spec.name not in self._live:
                current = self._current_file(spec)
                generation = current.read_text().strip() if current.exists() else "1"
                self._live[spec.name] = _PhysicalIndex(self.root / spec.name / generation, spec, self._heap)
                if not current.exists():
                    self._point_current(spec, generation)
            return self._live[spec.name]

    def _point_current(self, spec: IndexSpec, generation: str) -> None:
        current = self._current_file(spec)
        fd, temp = tempfile.mkstemp(dir=current.parent)
        with os.fdopen(fd, "w") as handle:
            handle.write(generation)
        os.replace(temp, current)

    def _targets(self, spec: IndexSpec) -> list[_PhysicalIndex]:
        live = self._live_index(spec)
        building = self._building.get(spec.name)
        return [live, building] if building is not None else [live]

    # --- writes --------------------------------------------------------------------------

    def upsert(self, spec: IndexSpec, documents: Sequence[dict[str, Any]]) -> None:
        if not documents:
            return
        with self._lock(spec.name):
            for target in self._targets(spec):
                target.write(spec, documents)

    def delete(self, spec: IndexSpec, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._lock(spec.name):
            for target in self._targets(spec):
                target.write(spec, (), deletes=ids)

    def delete_matching(self, spec: IndexSpec, field_name: str, value: str) -> None:
        with self._lock(spec.name):
            for target in self._targets(spec):
                target.delete_matching(field_name, value)

    def update_matching(self, spec: IndexSpec, field_name: str, value: str, changes: Mapping[str, Any]) -> int:
        spec.field(field_name)  # unknown fields are a programming error
        with self._lock(spec.name):
            counts = [target.update_matching(spec, field_name, value, changes) for target in self._targets(spec)]
        return counts[0]

    def reindex(self, spec: IndexSpec, documents: Iterable[dict[str, Any]], *, batch_size: int = 500) -> int:
        with self._lock(spec.name):
            live = self._live_index(spec)
            generation = str(int(live.path.name) + 1)
            shutil.rmtree(self.root / spec.name / generation, ignore_errors=True)
            building = _PhysicalIndex(self.root / spec.name / generation, spec, self._heap)
            self._building[spec.name] = building
        count = 0
        try:
            batch: list[dict[str, Any]] = []
            for document in documents:
                batch.append(document)
                if len(batch) >= batch_size:
                    count += self._write_building(spec, building, batch)
                    batch = []
            count += self._write_building(spec, building, batch)
        except BaseException:
            with self._lock(spec.name):
                self._building.pop(spec.name, None)
                building.close()
            shutil.rmtree(building.path, ignore_errors=True)
            raise
        with self._lock(spec.name):
            self._point_current(spec, generation)
            self._live[spec.name] = building
            self._building.pop(spec.name, None)
            live.close()
        shutil.rmtree(live.path, ignore_errors=True)
        return count

    def _write_building(self, spec: IndexSpec, building: _PhysicalIndex, batch: list[dict[str, Any]]) -> int:
        # Holding the lock per batch orders the walk's writes with concurrent event writes.
        with self._lock(spec.name):
            building.write(spec, batch)
        return len(batch)

    # --- reads ---------------------------------------------------------------------------

    def count(self, spec: IndexSpec) -> int:
        return int(self._live_index(spec).index.searcher().num_docs)

    def _text_query(self, schema: tantivy.Schema, spec: IndexSpec, parsed: ParsedText, fields: tuple[str, ...]) -> Any:
        text_fields = [spec.field(name) for name in fields] if fields else list(spec.text_fields)
        clauses: list[tuple[Any, Any]] = []
        for word in parsed.words:
            alternatives = []
            stemmed = stem(word)
            distance = fuzziness(word)
            for field in text_fields:
                term = tantivy.Query.term_query(schema, field.name, stemmed)
                alternatives.append((tantivy.Occur.Should, tantivy.Query.boost_query(term, field.boost)))
                if distance:
                    fuzzy = tantivy.Query.fuzzy_term_query(schema, field.name + PLAIN, word, distance=distance)
                    alternatives.append(
                        (tantivy.Occur.Should, tantivy.Query.boost_query(fuzzy, field.boost * FUZZY_BOOST))
                    )
            clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query(alternatives)))
        for phrase in parsed.phrases:
            stems: list[str | tuple[int, str]] = [stem(w) for w in phrase]
            alternatives = [
                (
                    tantivy.Occur.Should,
                    tantivy.Query.boost_query(tantivy.Query.phrase_query(schema, field.name, stems), field.boost),
                )
                for field in text_fields
            ]
            clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query(alternatives)))
        return clauses

    def _filter_clauses(self, schema: tantivy.Schema, spec: IndexSpec, query: SearchQuery) -> list[tuple[Any, Any]]:
        clauses: list[tuple[Any, Any]] = []
        for name, values in query.filters.items():
            spec.field(name)  # unknown fields are a programming error
            clauses.append((tantivy.Occur.Must, tantivy.Query.term_set_query(schema, name, [str(v) for v in values])))
        if query.date_range is not None and (query.date_range.gte or query.date_range.lte):
            clauses.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(
                        schema,
                        query.date_range.field,
                        tantivy.FieldType.Date,
                        _within_engine_range(query.date_range.gte or tantivy.MIN_DATETIME),
                        _within_engine_range(query.date_range.lte or tantivy.MAX_DATETIME),
                    ),
                )
            )
        return clauses

    def search(self, spec: IndexSpec, query: SearchQuery) -> SearchResult:
        physical = self._live_index(spec)
        schema = physical.schema
        parsed = parse_user_text(query.text)
        clauses = self._text_query(schema, spec, parsed, query.fields) if not parsed.empty else []
        clauses += self._filter_clauses(schema, spec, query)
        if not clauses:
            tantivy_query = tantivy.Query.all_query()
        elif parsed.empty:
            # Filters alone: every match scores alike (a filter context, as in OpenSearch).
            tantivy_query = tantivy.Query.const_score_query(tantivy.Query.boolean_query(clauses), 1.0)
        else:
            tantivy_query = tantivy.Query.boolean_query(clauses)
        searcher = physical.index.searcher()
        if query.sort == "relevance":
            found = searcher.search(tantivy_query, query.limit, count=True, offset=query.offset)
        else:
            order = tantivy.Order.Desc if query.sort == "date_desc" else tantivy.Order.Asc
            found = searcher.search(
                tantivy_query, query.limit, count=True, offset=query.offset, order_by_field=spec.date_field, order=order
            )
        hits = []
        for score, address in found.hits:
            source = json.loads(bytes(searcher.doc(address)[SOURCE][0]))
            highlights = self._highlights(spec, source, parsed, query) if query.highlight and not parsed.empty else {}
            hits.append(
                SearchHit(
                    id=str(source["id"]),
                    score=float(score) if query.sort == "relevance" else 0.0,
                    source=source,
                    highlights=highlights,
                )
            )
        facets: dict[str, dict[str, int]] = {}
        if query.facets:
            aggregation = {name: {"terms": {"field": name, "size": 50}} for name in query.facets}
            result = searcher.aggregate(tantivy_query, aggregation)
            for name in query.facets:
                facets[name] = {str(b["key"]): int(b["doc_count"]) for b in result.get(name, {}).get("buckets", [])}
        return SearchResult(total=int(getattr(found, "count", 0) or 0), hits=hits, facets=facets)

    @staticmethod
    def _highlights(
        spec: IndexSpec, source: dict[str, Any], parsed: ParsedText, query: SearchQuery
    ) -> dict[str, list[str]]:
        names = query.fields or tuple(f.name for f in spec.text_fields)
        marked: dict[str, list[str]] = {}
        for name in names:
            value = source.get(name)
            if not value:
                continue
            text = " ".join(str(v) for v in value) if isinstance(value, list) else str(value)
            fragment = highlight(text, parsed, stem)
            if fragment is not None:
                marked[name] = [fragment]
        return marked

    def suggest(
        self, spec: IndexSpec, prefix: str, *, filters: Mapping[str, Sequence[str]] | None = None, limit: int = 8
    ) -> list[str]:
        words = words_of(prefix)
        if not words:
            return []
        physical = self._live_index(spec)
        schema = physical.schema
        field = spec.suggest_field
        clauses: list[tuple[Any, Any]] = [
            (tantivy.Occur.Must, tantivy.Query.term_query(schema, field + PLAIN, word)) for word in words[:-1]
        ]
        clauses.append(
            (
                tantivy.Occur.Must,
                tantivy.Query.fuzzy_term_query(schema, field + PLAIN, words[-1], distance=0, prefix=True),
            )
        )
        clauses += self._filter_clauses(schema, spec, SearchQuery(filters=filters or {}))
        searcher = physical.index.searcher()
        found = searcher.search(tantivy.Query.boolean_query(clauses), limit * 4)
        suggestions: list[str] = []
        for _score, address in found.hits:
            value = json.loads(bytes(searcher.doc(address)[SOURCE][0])).get(field)
            if value and value not in suggestions:
                suggestions.append(str(value))
            if len(suggestions) == limit:
                break
        return suggestions

    def close(self) -> None:
        with self._guard:
            for physical in [*self._live.values(), *self._building.values()]:
                physical.close()
            self._live.clear()
            self._building.clear()


@lru_cache(maxsize=4)
def embedded_engine(root: str) -> EmbeddedSearchEngine:
    """One engine per index directory per process: tantivy allows one writer per index, and the local
    runtime runs the search API and the indexer worker as threads of one process."""
    return EmbeddedSearchEngine(Path(root))
