"""A small OpenSearch-compatible HTTP server for tests: no real cluster can run on this machine.

It answers the REST calls the OpenSearch adapter makes (index templates, create/delete index,
aliases, _bulk, _search, _count, _delete_by_query, _update_by_query) with OpenSearch's wire shapes, and evaluates
the query DSL it sends faithfully: bool (must/should/filter/must_not, minimum_should_match),
match (analyzed; fuzziness as Damerau-Levenshtein edits), match_phrase, term, terms, prefix, range,
match_all; BM25 scoring (k1=1.2, b=0.75); terms aggregations (booleans keyed 1/0 with
key_as_string); sort by a field; highlight with pre/post tags and the html encoder.
The "english" analyzer is lower-casing, Lucene's English stop words and a Porter stemmer
(tantivy's, standing in for Lucene's); "standard" is lower-casing only.
"""

from __future__ import annotations

import fnmatch
import html
import json
import math
import re
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

import tantivy
from agents_meetings.search.opensearch import UPDATE_FIELDS_SCRIPT

_TOKEN = re.compile(r"\w+", re.UNICODE)
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
_stemmer = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.lowercase())
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)
K1, B = 1.2, 0.75


def analyze(text: str, analyzer: str) -> list[tuple[int, str, tuple[int, int]]]:
    """(position, term, character span) per token; stop words keep their position (as Lucene)."""
    tokens = []
    for position, match in enumerate(_TOKEN.finditer(text)):
        word = match.group(0).lower()
        if analyzer == "english":
            if word in STOP_WORDS:
                continue
            stemmed = _stemmer.analyze(word)
            word = str(stemmed[0]) if stemmed else word
        tokens.append((position, word, match.span()))
    return tokens


def edits_within(a: str, b: str, limit: int) -> bool:
    if abs(len(a) - len(b)) > limit:
        return False
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1] <= limit


class Index:
    def __init__(self, name: str, mappings: dict[str, Any]):
        self.name = name
        self.mappings = mappings
        self.docs: dict[str, dict[str, Any]] = {}

    def field_type(self, field: str) -> str:
        base = field.split(".")[0]
        spec = self.mappings.get("properties", {}).get(base, {})
        if "." in field:
            return "text"
        return str(spec.get("type", "keyword"))

    def analyzer(self, field: str) -> str:
        base, _, sub = field.partition(".")
        spec = self.mappings.get("properties", {}).get(base, {})
        if sub:
            return str(spec.get("fields", {}).get(sub, {}).get("analyzer", "standard"))
        return str(spec.get("analyzer", "standard"))


def _values(doc: dict[str, Any], field: str) -> list[Any]:
    value = doc.get(field.split(".")[0])
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text(doc: dict[str, Any], field: str) -> str:
    return " ".join(str(v) for v in _values(doc, field))


def _keyword(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _date(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class Searcher:
    """Evaluates one query over one index's documents."""

    def __init__(self, index: Index):
        self.index = index
        self.docs = list(index.docs.values())
        self._tokens: dict[tuple[str, str], list[tuple[int, str, tuple[int, int]]]] = {}

    def tokens(self, doc: dict[str, Any], field: str) -> list[tuple[int, str, tuple[int, int]]]:
        key = (str(doc.get("id", id(doc))), field)
        if key not in self._tokens:
            self._tokens[key] = analyze(_text(doc, field), self.index.analyzer(field))
        return self._tokens[key]

    def bm25(self, field: str, term: str, doc: dict[str, Any], freq: int) -> float:
        lengths = [len(self.tokens(d, field)) for d in self.docs]
        average = (sum(lengths) / len(lengths)) or 1.0
        df = sum(1 for d in self.docs if any(t == term for _, t, _ in self.tokens(d, field)))
        idf = math.log(1 + (len(self.docs) - df + 0.5) / (df + 0.5))
        length = len(self.tokens(doc, field))
        return idf * freq * (K1 + 1) / (freq + K1 * (1 - B + B * length / average))

    def evaluate(self, query: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, float]:
        ((kind, body),) = query.items()
        if kind == "match_all":
            return True, float(body.get("boost", 1.0))
        if kind == "bool":
            return self._bool(body, doc)
        ((field, spec),) = body.items()
        if kind in ("match", "match_phrase") and not isinstance(spec, dict):
            spec = {"query": spec}
        boost = float(spec.get("boost", 1.0)) if isinstance(spec, dict) else 1.0
        if kind == "match":
            return self._match(field, spec, doc, boost)
        if kind == "match_phrase":
            return self._phrase(field, spec, doc, boost)
        if kind == "term":
            value = spec["value"] if isinstance(spec, dict) else spec
            return self._terms(field, [value], doc), boost
        if kind == "terms":
            return self._terms(field, list(spec), doc), 1.0
        if kind == "prefix":
            value = str(spec["value"] if isinstance(spec, dict) else spec).lower()
            if self.index.field_type(field) == "text":
                return any(t.startswith(value) for _, t, _ in self.tokens(doc, field)), boost
            return any(_keyword(v).startswith(value) for v in _values(doc, field)), boost
        if kind == "range":
            values = [_date(v) for v in _values(doc, field)]
            ok = any(
                ("gte" not in spec or v >= _date(spec["gte"])) and ("lte" not in spec or v <= _date(spec["lte"]))
                for v in values
            )
            return ok, 1.0
        raise ValueError(f"unsupported query {kind}")

    def _bool(self, body: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, float]:
        score = 0.0
        for clause in body.get("must", []):
            ok, part = self.evaluate(clause, doc)
            if not ok:
                return False, 0.0
            score += part
        for clause in body.get("filter", []):
            if not self.evaluate(clause, doc)[0]:
                return False, 0.0
        for clause in body.get("must_not", []):
            if self.evaluate(clause, doc)[0]:
                return False, 0.0
        should = body.get("should", [])
        default_minimum = 0 if (body.get("must") or body.get("filter")) else 1
        minimum = int(body.get("minimum_should_match", default_minimum if should else 0))
        matched = 0
        for clause in should:
            ok, part = self.evaluate(clause, doc)
            if ok:
                matched += 1
                score += part
        if matched < minimum:
            return False, 0.0
        return True, score * float(body.get("boost", 1.0))

    def _match(self, field: str, spec: dict[str, Any], doc: dict[str, Any], boost: float) -> tuple[bool, float]:
        query_terms = [t for _, t, _ in analyze(str(spec["query"]), self.index.analyzer(field))]
        distance = int(spec.get("fuzziness", 0))
        doc_terms = [t for _, t, _ in self.tokens(doc, field)]
        score, any_match = 0.0, False
        for term in query_terms:
            for candidate in set(doc_terms):
                if candidate == term or (distance and edits_within(candidate, term, distance)):
                    any_match = True
                    score += self.bm25(field, candidate, doc, doc_terms.count(candidate)) * boost
        return any_match, score

    def _phrase(self, field: str, spec: dict[str, Any], doc: dict[str, Any], boost: float) -> tuple[bool, float]:
        wanted = analyze(str(spec["query"]), self.index.analyzer(field))
        if not wanted:
            return False, 0.0
        positions: dict[str, set[int]] = {}
        for position, term, _ in self.tokens(doc, field):
            positions.setdefault(term, set()).add(position)
        base = wanted[0][0]
        for start in positions.get(wanted[0][1], set()):
            if all(start + (p - base) in positions.get(t, set()) for p, t, _ in wanted):
                doc_terms = [t for _, t, _ in self.tokens(doc, field)]
                return True, sum(self.bm25(field, t, doc, doc_terms.count(t)) for _, t, _ in wanted) * boost
        return False, 0.0

    def _terms(self, field: str, values: list[Any], doc: dict[str, Any]) -> bool:
        wanted = {_keyword(v) for v in values}
        if self.index.field_type(field) == "text":
            return any(t in wanted for _, t, _ in self.tokens(doc, field))
        return any(_keyword(v) in wanted for v in _values(doc, field))

    def highlight_terms(self, query: dict[str, Any], field: str) -> list[tuple[str, int]]:
        """(analyzed term, fuzziness) of every match/match_phrase clause on exactly this field."""
        found: list[tuple[str, int]] = []
        ((kind, body),) = query.items()
        if kind == "bool":
            for key in ("must", "should"):
                for clause in body.get(key, []):
                    found.extend(self.highlight_terms(clause, field))
        elif kind in ("match", "match_phrase"):
            ((name, spec),) = body.items()
            spec = spec if isinstance(spec, dict) else {"query": spec}
            if name == field:
                distance = int(spec.get("fuzziness", 0))
                found.extend((t, distance) for _, t, _ in analyze(str(spec["query"]), self.index.analyzer(field)))
        return found

    def highlight(self, query: dict[str, Any], doc: dict[str, Any], field: str, options: dict[str, Any]) -> list[str]:
        terms = self.highlight_terms(query, field)
        if not terms:
            return []
        text = _text(doc, field)
        spans = [
            span
            for _, token, span in self.tokens(doc, field)
            if any(token == t or (d and edits_within(token, t, d)) for t, d in terms)
        ]
        if not spans:
            return []
        size = int(options.get("fragment_size", 100))
        start = 0 if len(text) <= size else max(0, spans[0][0] - size // 3)
        end = min(len(text), start + size) if len(text) > size else len(text)
        pre, post = options["pre_tags"][0], options["post_tags"][0]
        escape = html.escape if options.get("encoder") == "html" else (lambda s: s)
        out, cursor = [], start
        for span_start, span_end in spans:
            if span_start < start or span_end > end:
                continue
            out.append(escape(text[cursor:span_start]) + pre + escape(text[span_start:span_end]) + post)
            cursor = span_end
        out.append(escape(text[cursor:end]))
        return ["".join(out)]


class FakeOpenSearch(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.indices: dict[str, Index] = {}
        self.aliases: dict[str, set[str]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def resolve(self, target: str) -> list[str]:
        names: list[str] = []
        for part in target.split(","):
            if part in self.aliases:
                names.extend(sorted(self.aliases[part]))
            elif "*" in part:
                names.extend(sorted(n for n in self.indices if fnmatch.fnmatch(n, part)))
            elif part in self.indices:
                names.append(part)
        return names

    def create_index(self, name: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if name in self.indices:
            return 400, _error("resource_already_exists_exception", f"index [{name}] already exists")
        mappings = dict(body.get("mappings") or {})
        for template in self.templates.values():
            if any(fnmatch.fnmatch(name, pattern) for pattern in template.get("index_patterns", [])):
                mappings = mappings or dict(template.get("template", {}).get("mappings", {}))
        self.indices[name] = Index(name, mappings)
        for alias in body.get("aliases") or {}:
            self.aliases.setdefault(alias, set()).add(name)
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def search(self, target: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        names = self.resolve(target)
        if not names:
            return 404, _error("index_not_found_exception", f"no such index [{target}]")
        matched: list[tuple[float, int, Index, dict[str, Any], Searcher]] = []
        query = body.get("query") or {"match_all": {}}
        order = 0
        for name in names:
            index = self.indices[name]
            searcher = Searcher(index)
            for doc in index.docs.values():
                ok, score = searcher.evaluate(query, doc)
                if ok:
                    matched.append((score, order, index, doc, searcher))
                order += 1
        sort = body.get("sort")
        if sort:
            ((field, spec),) = sort[0].items()
            descending = (spec.get("order") if isinstance(spec, dict) else spec) == "desc"
            matched.sort(key=lambda m: m[1])
            matched.sort(
                key=lambda m: _date(_values(m[3], field)[0]) if _values(m[3], field) else datetime.min.astimezone(),
                reverse=descending,
            )
        else:
            matched.sort(key=lambda m: (-m[0], m[1]))
        start, size = int(body.get("from", 0)), int(body.get("size", 10))
        hits = []
        for score, _, index, doc, searcher in matched[start : start + size]:
            source = doc
            if isinstance(body.get("_source"), list):
                source = {k: v for k, v in doc.items() if k in body["_source"]}
            hit: dict[str, Any] = {
                "_index": index.name,
                "_id": str(doc["id"]),
                "_score": None if sort else score,
                "_source": source,
            }
            if body.get("highlight"):
                options = body["highlight"]
                marked = {}
                for field, field_options in options.get("fields", {}).items():
                    fragments = searcher.highlight(query, doc, field, {**options, **field_options})
                    if fragments:
                        marked[field] = fragments
                if marked:
                    hit["highlight"] = marked
            hits.append(hit)
        response: dict[str, Any] = {
            "took": 1,
            "timed_out": False,
            "hits": {"total": {"value": len(matched), "relation": "eq"}, "max_score": None, "hits": hits},
        }
        if body.get("aggs"):
            response["aggregations"] = {}
            for agg_name, agg in body["aggs"].items():
                field, size = agg["terms"]["field"], int(agg["terms"].get("size", 10))
                counts: dict[Any, int] = {}
                for _, _, _index, doc, _ in matched:
                    for value in set(map(_keyword, _values(doc, field))):
                        counts[value] = counts.get(value, 0) + 1
                boolean = any(self.indices[n].field_type(field) == "boolean" for n in names)
                buckets = []
                for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]:
                    if boolean:
                        buckets.append({"key": 1 if key == "true" else 0, "key_as_string": key, "doc_count": count})
                    else:
                        buckets.append({"key": key, "doc_count": count})
                response["aggregations"][agg_name] = {
                    "doc_count_error_upper_bound": 0,
                    "sum_other_doc_count": max(0, sum(counts.values()) - sum(b["doc_count"] for b in buckets)),
                    "buckets": buckets,
                }
        return 200, response

    def bulk(self, lines: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        items, errors, position = [], False, 0
        while position < len(lines):
            ((action, meta),) = lines[position].items()
            position += 1
            name = meta["_index"]
            if action in ("index", "create"):
                source = lines[position]
                position += 1
                if name not in self.indices and not self.resolve(name):
                    self.create_index(name, {})
                target = self.resolve(name)[0] if name in self.aliases else name
                self.indices[target].docs[str(meta["_id"])] = source
                items.append({action: {"_index": target, "_id": meta["_id"], "result": "updated", "status": 200}})
            elif action == "delete":
                index = self.indices.get(name)
                existed = index is not None and index.docs.pop(str(meta["_id"]), None) is not None
                status = 200 if existed else 404
                errors = errors or status == 404
                items.append(
                    {
                        "delete": {
                            "_index": name,
                            "_id": meta["_id"],
                            "result": "deleted" if existed else "not_found",
                            "status": status,
                        }
                    }
                )
            else:
                raise ValueError(action)
        return 200, {"took": 1, "errors": errors, "items": items}

    def update_by_query(self, target: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Runs the one painless script the adapter sends (UPDATE_FIELDS_SCRIPT) by its meaning:
        set each of ``params.changes``; a document already holding them is a noop."""
        script = body.get("script") or {}
        if script.get("source") != UPDATE_FIELDS_SCRIPT:
            return 400, _error("illegal_argument_exception", "the fake runs only the adapter's update script")
        changes = dict(script["params"]["changes"])
        updated = noops = 0
        for name in self.resolve(target):
            index = self.indices[name]
            searcher = Searcher(index)
            for doc_id, doc in list(index.docs.items()):
                if not searcher.evaluate(body.get("query") or {"match_all": {}}, doc)[0]:
                    continue
                if all(doc.get(k) == v for k, v in changes.items()):
                    noops += 1
                    continue
                index.docs[doc_id] = {**doc, **changes}
                updated += 1
        return 200, {"took": 1, "updated": updated, "noops": noops, "failures": [], "version_conflicts": 0}


def _error(kind: str, reason: str) -> dict[str, Any]:
    return {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason}, "status": 400}


class _Handler(BaseHTTPRequestHandler):
    server: FakeOpenSearch
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, payload: dict[str, Any] | None) -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _dispatch(self) -> None:
        parsed = urlparse(self.path)
        parts = [p for p in parsed.path.split("/") if p]
        raw = self._body()
        server = self.server
        server.requests.append((self.command, parsed.path))
        with server.lock:
            status, payload = self._route(self.command, parts, raw)
        self._reply(status, payload)

    def _route(self, method: str, parts: list[str], raw: bytes) -> tuple[int, dict[str, Any] | None]:
        server = self.server
        body = json.loads(raw) if raw and not (parts and parts[-1] == "_bulk") else {}
        if not parts:
            return 200, {
                "name": "fake",
                "cluster_name": "test",
                "version": {"number": "2.17.0", "distribution": "opensearch"},
            }
        if parts[0] == "_index_template" and method == "PUT":
            server.templates[parts[1]] = body
            return 200, {"acknowledged": True}
        if parts[0] == "_alias" and method == "HEAD":
            return (200 if server.aliases.get(parts[1]) else 404), None
        if parts[0] == "_aliases" and method == "POST":
            for action in body.get("actions", []):
                ((kind, spec),) = action.items()
                targets = server.resolve(spec["index"]) if "*" in spec["index"] else [spec["index"]]
                for target in targets:
                    if kind == "add":
                        server.aliases.setdefault(spec["alias"], set()).add(target)
                    elif kind == "remove":
                        server.aliases.get(spec["alias"], set()).discard(target)
            return 200, {"acknowledged": True}
        if parts[0] == "_bulk":
            lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
            return server.bulk(lines)
        target = parts[0]
        if len(parts) == 1:
            if method == "PUT":
                return server.create_index(target, body)
            if method == "HEAD":
                return (200 if server.resolve(target) else 404), None
            if method == "DELETE":
                names = server.resolve(target) if ("*" in target or target in server.indices) else []
                for name in names:
                    server.indices.pop(name, None)
                    for members in server.aliases.values():
                        members.discard(name)
                return 200, {"acknowledged": True}
        operation = parts[1] if len(parts) > 1 else ""
        if operation == "_alias" and method == "GET":
            names = server.resolve(target)
            if not names and "*" not in target:
                return 404, _error("index_not_found_exception", target)
            return 200, {
                name: {"aliases": {a: {} for a, members in server.aliases.items() if name in members}} for name in names
            }
        if operation == "_search":
            return server.search(target, body)
        if operation == "_count":
            status, result = server.search(target, {**body, "size": 0})
            return status, {"count": result["hits"]["total"]["value"]} if status == 200 else result
        if operation == "_delete_by_query":
            deleted = 0
            for name in server.resolve(target):
                index = server.indices[name]
                searcher = Searcher(index)
                doomed = [i for i, doc in index.docs.items() if searcher.evaluate(body["query"], doc)[0]]
                for doc_id in doomed:
                    del index.docs[doc_id]
                deleted += len(doomed)
            return 200, {"deleted": deleted, "failures": []}
        if operation == "_update_by_query":
            return server.update_by_query(target, body)
        if operation == "_refresh":
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        return 400, _error("illegal_argument_exception", f"unsupported {method} /{'/'.join(parts)}")

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _dispatch
