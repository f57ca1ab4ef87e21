"""The OpenSearch adapter of the SearchBackend port (opensearch-py; SigV4-signed in the cloud).

Each logical index is an alias (``<prefix><name>``) over one physical index
(``<prefix><name>-<generation>``) created from an index template this code puts. Writes go to every
physical index of the name (during a reindex: the live one and the one being built), so a reindex
loses nothing; the alias moves to the fresh index in one atomic ``_aliases`` call.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opensearchpy import OpenSearch, RequestsHttpConnection
from opensearchpy.exceptions import NotFoundError

from agents_meetings.search.backend import (
    HIGHLIGHT_POST,
    HIGHLIGHT_PRE,
    IndexSpec,
    SearchHit,
    SearchQuery,
    SearchResult,
    fuzziness,
    parse_user_text,
    words_of,
)

PLAIN = "plain"
FUZZY_BOOST = 0.5
# update_matching's script: set each of params.changes; a document already holding them is a noop.
UPDATE_FIELDS_SCRIPT = (
    "boolean changed = false; "
    "for (entry in params.changes.entrySet()) { "
    "if (ctx._source[entry.getKey()] != entry.getValue()) { ctx._source[entry.getKey()] = entry.getValue(); "
    "changed = true; } } "
    "if (!changed) { ctx.op = 'noop'; }"
)


class SearchBackendError(RuntimeError):
    """The engine refused a write (bulk item errors); the indexer records it and retries."""


def build_client(url: str, *, auth: str = "sigv4", region: str = "us-east-1", service: str = "es") -> OpenSearch:
    http_auth: Any = None
    if auth == "sigv4":
        import boto3
        from opensearchpy import AWSV4SignerAuth

        credentials = boto3.Session().get_credentials()
        http_auth = AWSV4SignerAuth(credentials, region, service)
    return OpenSearch(
        hosts=[url],
        http_auth=http_auth,
        use_ssl=url.startswith("https://"),
        verify_certs=url.startswith("https://"),
        connection_class=RequestsHttpConnection,
        timeout=10,
        max_retries=2,
        retry_on_timeout=True,
    )


def mappings(spec: IndexSpec) -> dict[str, Any]:
    properties: dict[str, Any] = {"id": {"type": "keyword"}}
    for field in spec.fields:
        if field.name == "id":
            continue
        if field.kind == "text":
            properties[field.name] = {
                "type": "text",
                "analyzer": "english",
                "fields": {PLAIN: {"type": "text", "analyzer": "standard"}},
            }
        elif field.kind == "keyword":
            properties[field.name] = {"type": "keyword"}
        elif field.kind == "boolean":
            properties[field.name] = {"type": "boolean"}
        elif field.kind == "date":
            properties[field.name] = {"type": "date"}
        elif field.kind == "number":
            properties[field.name] = {"type": "float"}
        elif field.kind == "nested":
            properties[field.name] = {"type": "nested", "dynamic": True}
    # Fields outside the spec are kept in _source but not indexed.
    return {"dynamic": False, "properties": properties}


class OpenSearchBackend:
    def __init__(self, client: OpenSearch, *, prefix: str = "agents-meetings-"):
        self.client = client
        self.prefix = prefix
        self._ensured: set[str] = set()

    def alias(self, spec: IndexSpec) -> str:
        return f"{self.prefix}{spec.name}"

    def _new_physical(self, spec: IndexSpec) -> str:
        return f"{self.alias(spec)}-{time.time_ns()}"

    # --- index lifecycle -----------------------------------------------------------------

    def ensure_index(self, spec: IndexSpec) -> None:
        alias = self.alias(spec)
        if alias in self._ensured:
            return
        self.client.indices.put_index_template(
            name=alias,
            body={
                "index_patterns": [f"{alias}-*"],
                "template": {"settings": {"number_of_shards": 1}, "mappings": mappings(spec)},
            },
        )
        if not self.client.indices.exists_alias(name=alias):
            self.client.indices.create(index=self._new_physical(spec), body={"aliases": {alias: {}}})
        self._ensured.add(alias)

    def _physical_indexes(self, spec: IndexSpec) -> dict[str, Any]:
        self.ensure_index(spec)
        try:
            return dict(self.client.indices.get_alias(index=f"{self.alias(spec)}-*"))
        except NotFoundError:
            return {}

    # --- writes --------------------------------------------------------------------------

    def _bulk(self, lines: list[dict[str, Any]]) -> None:
        if not lines:
            return
        response = self.client.bulk(body=lines, params={"refresh": "wait_for"})
        if response.get("errors"):
            failed = [
                item
                for item in response.get("items", [])
                for action in item.values()
                if action.get("error") and action.get("status") != 404
            ]
            if failed:
                raise SearchBackendError(f"{len(failed)} bulk actions failed: {str(failed[0])[:300]}")

    def upsert(self, spec: IndexSpec, documents: Sequence[dict[str, Any]]) -> None:
        if not documents:
            return
        targets = list(self._physical_indexes(spec))
        lines: list[dict[str, Any]] = []
        for target in targets:
            for document in documents:
                lines.append({"index": {"_index": target, "_id": str(document["id"])}})
                lines.append(document)
        self._bulk(lines)

    def delete(self, spec: IndexSpec, ids: Sequence[str]) -> None:
        lines = [{"delete": {"_index": target, "_id": str(i)}} for target in self._physical_indexes(spec) for i in ids]
        self._bulk(lines)

    def delete_matching(self, spec: IndexSpec, field_name: str, value: str) -> None:
        for target in self._physical_indexes(spec):
            self.client.delete_by_query(
                index=target, body={"query": {"term": {field_name: value}}}, params={"refresh": "true"}
            )

    def update_matching(self, spec: IndexSpec, field_name: str, value: str, changes: Mapping[str, Any]) -> int:
        spec.field(field_name)
        body = {
            "query": {"term": {field_name: value}},
            "script": {"lang": "painless", "source": UPDATE_FIELDS_SCRIPT, "params": {"changes": dict(changes)}},
        }
        updated = 0
        for target, info in self._physical_indexes(spec).items():
            # Version conflicts (a concurrent write) abort the call: the indexer's retry redoes it.
            response = self.client.update_by_query(index=target, body=body, params={"refresh": "true"})
            if response.get("failures"):
                raise SearchBackendError(f"update_by_query failed: {str(response['failures'][0])[:300]}")
            if self.alias(spec) in (info or {}).get("aliases", {}):  # the live index (not one being built)
                updated = int(response.get("updated", 0))
        return updated

    def reindex(self, spec: IndexSpec, documents: Iterable[dict[str, Any]], *, batch_size: int = 500) -> int:
        alias = self.alias(spec)
        old = list(self._physical_indexes(spec))
        fresh = self._new_physical(spec)
        self.client.indices.create(index=fresh, body={})
        count = 0
        try:
            batch: list[dict[str, Any]] = []
            for document in documents:
                batch.append(document)
                if len(batch) >= batch_size:
                    count += self._index_into(fresh, batch)
                    batch = []
            count += self._index_into(fresh, batch)
            actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": alias}} for name in old]
            actions.append({"add": {"index": fresh, "alias": alias}})
            self.client.indices.update_aliases(body={"actions": actions})
        except Exception:
            self.client.indices.delete(index=fresh, params={"ignore_unavailable": "true"})
            raise
        for name in old:
            self.client.indices.delete(index=name, params={"ignore_unavailable": "true"})
        return count

    def _index_into(self, index: str, batch: list[dict[str, Any]]) -> int:
        lines: list[dict[str, Any]] = []
        for document in batch:
            lines.append({"index": {"_index": index, "_id": str(document["id"])}})
            lines.append(document)
        self._bulk(lines)
        return len(batch)

    # --- reads ---------------------------------------------------------------------------

    def count(self, spec: IndexSpec) -> int:
        self.ensure_index(spec)
        return int(self.client.count(index=self.alias(spec))["count"])

    @staticmethod
    def _filters(spec: IndexSpec, query: SearchQuery) -> list[dict[str, Any]]:
        clauses: list[dict[str, Any]] = []
        for name, values in query.filters.items():
            spec.field(name)
            clauses.append({"terms": {name: [str(v) for v in values]}})
        if query.date_range is not None and (query.date_range.gte or query.date_range.lte):
            bounds: dict[str, str] = {}
            if query.date_range.gte:
                bounds["gte"] = query.date_range.gte.isoformat()
            if query.date_range.lte:
                bounds["lte"] = query.date_range.lte.isoformat()
            clauses.append({"range": {query.date_range.field: bounds}})
        return clauses

    def search(self, spec: IndexSpec, query: SearchQuery) -> SearchResult:
        self.ensure_index(spec)
        parsed = parse_user_text(query.text)
        text_fields = [spec.field(name) for name in query.fields] if query.fields else list(spec.text_fields)
        must: list[dict[str, Any]] = []
        for word in parsed.words:
            should: list[dict[str, Any]] = []
            for field in text_fields:
                should.append({"match": {field.name: {"query": word, "boost": field.boost}}})
                if fuzziness(word):
                    should.append(
                        {
                            "match": {
                                f"{field.name}.{PLAIN}": {
                                    "query": word,
                                    "fuzziness": fuzziness(word),
                                    "boost": field.boost * FUZZY_BOOST,
                                }
                            }
                        }
                    )
            must.append({"bool": {"should": should, "minimum_should_match": 1}})
        for phrase in parsed.phrases:
            should = [
                {"match_phrase": {field.name: {"query": " ".join(phrase), "boost": field.boost}}}
                for field in text_fields
            ]
            must.append({"bool": {"should": should, "minimum_should_match": 1}})
        body: dict[str, Any] = {
            "query": {"bool": {"must": must or [{"match_all": {}}], "filter": self._filters(spec, query)}},
            "from": query.offset,
            "size": query.limit,
            "track_total_hits": True,
        }
        if query.sort != "relevance":
            body["sort"] = [{spec.date_field: {"order": "desc" if query.sort == "date_desc" else "asc"}}]
        if query.facets:
            body["aggs"] = {name: {"terms": {"field": name, "size": 50}} for name in query.facets}
        if query.highlight and not parsed.empty:
            fields: dict[str, Any] = {}
            for field in text_fields:
                fields[field.name] = {"number_of_fragments": 1, "fragment_size": 160}
                fields[f"{field.name}.{PLAIN}"] = {"number_of_fragments": 1, "fragment_size": 160}
            body["highlight"] = {
                "pre_tags": [HIGHLIGHT_PRE],
                "post_tags": [HIGHLIGHT_POST],
                "encoder": "html",
                "fields": fields,
            }
        response = self.client.search(index=self.alias(spec), body=body)
        hits = []
        for hit in response["hits"]["hits"]:
            highlights: dict[str, list[str]] = {}
            for name, fragments in (hit.get("highlight") or {}).items():
                base = name.removesuffix(f".{PLAIN}")
                highlights.setdefault(base, list(fragments))
            hits.append(
                SearchHit(
                    id=str(hit["_id"]),
                    score=float(hit.get("_score") or 0.0) if query.sort == "relevance" else 0.0,
                    source=dict(hit["_source"]),
                    highlights=highlights,
                )
            )
        total = response["hits"]["total"]
        facets: dict[str, dict[str, int]] = {}
        for name in query.facets:
            buckets = (response.get("aggregations") or {}).get(name, {}).get("buckets", [])
            facets[name] = {str(b.get("key_as_string", b["key"])): int(b["doc_count"]) for b in buckets}
        return SearchResult(total=int(total["value"] if isinstance(total, dict) else total), hits=hits, facets=facets)

    def suggest(
        self, spec: IndexSpec, prefix: str, *, filters: Mapping[str, Sequence[str]] | None = None, limit: int = 8
    ) -> list[str]:
        words = words_of(prefix)
        if not words:
            return []
        self.ensure_index(spec)
        field = f"{spec.suggest_field}.{PLAIN}"
        must: list[dict[str, Any]] = [{"term": {field: word}} for word in words[:-1]]
        must.append({"prefix": {field: words[-1]}})
        body = {
            "query": {"bool": {"must": must, "filter": self._filters(spec, SearchQuery(filters=filters or {}))}},
            "size": limit * 4,
            "_source": [spec.suggest_field],
        }
        response = self.client.search(index=self.alias(spec), body=body)
        suggestions: list[str] = []
        for hit in response["hits"]["hits"]:
            value = hit["_source"].get(spec.suggest_field)
            if value and value not in suggestions:
                suggestions.append(str(value))
            if len(suggestions) == limit:
                break
        return suggestions
