"""CacheService (spec 2.1): cache-aside over two tiers behind one port.

- In-process: a bounded ``TTLCache`` per warm container with a few seconds' TTL, for entries that may
  be that stale (dashboard, active list, counts, settings). Entries whose reads must be exact after
  a write (``keys.EXACT_PREFIXES``) never come from it.
- Shared: Redis (ElastiCache Serverless in the cloud, a real ``redis-server`` locally).

Invalidation never scans the keyspace. Each entry is stored with a stamp: the version of its
prefix's namespace (``ns:<prefix>``, replaced by ``invalidate_pattern("<prefix>:*")``) and of the key
itself (``v:<key>``, replaced by ``delete``). A read fetches entry and versions in one pipeline and
serves the entry only if its stamp still matches, so an invalidation is seen by every instance on
its next read, and a reader that filled the cache with data read before a concurrent write stored
it under the old stamp (never served). Versions are random tokens, not counters: an evicted version
cannot come back as an old value.

Every shared-tier error is a miss (the caller reads DynamoDB), a ``CacheErrors`` metric and a log
line; the client fails fast and a circuit breaker skips the tier for a few seconds after a failure.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from cachetools import TTLCache

from agents_meetings.cache.client import CircuitBreaker, RedisClient
from agents_meetings.cache.keys import EXACT_PREFIXES, prefix_of, ttl_for
from agents_meetings.cache.stats import SHARED_FLUSH_SECONDS, CacheStats, PrefixCounts, hit_rate
from agents_meetings.observability import logger, metrics, record_store_call

T = TypeVar("T")
Backend = Literal["redis", "memory", "none"]

# A version outlives every entry stamped with it (the longest TTL is an hour).
VERSION_TTL_SECONDS = 2 * 86_400
STATS_KEY = "cache:stats"
_ERRORS: tuple[type[BaseException], ...]
try:
    import redis

    _ERRORS = (redis.RedisError, OSError, ValueError)
except ImportError:  # pragma: no cover - redis is a runtime dependency
    _ERRORS = (OSError,)


@dataclass(frozen=True)
class Lookup:
    """One key's read: the value when ``hit``, and the stamp to store a fresh value under (None:
    the shared tier did not answer, so nothing is written back)."""

    hit: bool
    value: Any = None
    stamp: str | None = None
    local: bool = False


@dataclass
class _Prefetch:
    """One request's prefetch hint (``CacheService.prefetch``): keys the route will read, fetched in
    the request's first shared-tier round trip (the authentication's), kept here until read once."""

    wanted: tuple[str, ...]
    found: dict[str, Lookup] = field(default_factory=dict)
    fetched: bool = False


# Per request: FastAPI runs each request in a task of its own (copied context), and a sync endpoint
# in a thread with a copy of that context: they share this one object, never another request's.
_prefetch: ContextVar[_Prefetch | None] = ContextVar("agents_meetings_cache_prefetch", default=None)


class _CountingTTLCache(TTLCache[str, Any]):
    """A TTLCache that counts what it pushes out to stay within ``maxsize`` (not what expires)."""

    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float], on_evict: Callable[[str], None]):
        super().__init__(maxsize=maxsize, ttl=ttl, timer=timer)
        self._on_evict = on_evict

    def popitem(self) -> tuple[str, Any]:
        key, value = super().popitem()
        self._on_evict(key)
        return key, value


class CacheService:
    def __init__(
        self,
        client: RedisClient | None,
        *,
        backend: Backend = "redis",
        default_ttl: int = 300,
        local_ttl: float = 5.0,
        local_max_entries: int = 2048,
        breaker: CircuitBreaker | None = None,
        stats: CacheStats | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend: Backend = backend if backend == "none" or client is not None or backend == "memory" else "none"
        self._client = client if self.backend == "redis" else None
        self.default_ttl = default_ttl
        self.local_ttl = local_ttl
        self.breaker = breaker or CircuitBreaker(5.0)
        self.stats = stats or CacheStats()
        self._local_lock = threading.Lock()
        self._local = _CountingTTLCache(
            local_max_entries, local_ttl, clock, lambda key: self.stats.count(prefix_of(key), "evictions")
        )

    @property
    def enabled(self) -> bool:
        return self.backend != "none"

    # --- the spec's methods -------------------------------------------------------------------

    def get(self, key: str) -> Any | None:
        found = self.lookup_many([key])[key]
        return found.value if found.hit else None

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        """Store ``value`` under the key's current versions (read first: one more round trip)."""
        if not self.enabled:
            return
        stamp = self._current_stamps([key]).get(key)
        self.store(key, Lookup(hit=False, stamp=stamp), value, ttl)

    def delete(self, key: str) -> bool:
        """Invalidate one key everywhere: its version is replaced (so no instance serves an entry
        stamped before this call) and the entry removed. Called after the DynamoDB write, before the
        response. False when the shared tier could not be reached (logged and counted)."""
        return self.delete_many([key])

    def delete_many(self, keys: Iterable[str]) -> bool:
        keys = list(dict.fromkeys(keys))
        if not self.enabled or not keys:
            return True
        _forget_prefetched(lambda key: key in keys)
        with self._local_lock:
            for key in keys:
                self._local.pop(key, None)
        if self._client is None:
            return True
        # Writes go through even when the breaker is open: an invalidation must not be skipped
        # because this instance saw the tier fail a moment ago.
        started = time.perf_counter()
        try:
            pipe = self._client.pipeline(transaction=False)
            for key in keys:
                pipe.set(f"v:{key}", uuid.uuid4().hex, ex=VERSION_TTL_SECONDS)
                pipe.delete(key)
            self._timed("delete", keys, pipe.execute)
        except _ERRORS as exc:
            self._failed("delete", keys, exc, invalidation=True)
            return False
        self.breaker.success()
        self._latency(keys, started)
        return True

    def invalidate_pattern(self, pattern: str) -> bool:
        """Invalidate every key matching ``<prefix>:*`` by replacing the prefix's namespace version:
        O(1), no KEYS or SCAN. A pattern without ``*`` is one key (``delete``)."""
        if "*" not in pattern:
            return self.delete(pattern)
        prefix, _, rest = pattern.partition(":")
        if rest != "*" or not prefix or "*" in prefix:
            raise ValueError(f"invalidate_pattern takes '<prefix>:*' (namespaces are per prefix), not {pattern!r}")
        if not self.enabled:
            return True
        _forget_prefetched(lambda key: prefix_of(key) == prefix)
        with self._local_lock:
            for key in [k for k in self._local if prefix_of(k) == prefix]:
                self._local.pop(key, None)
        if self._client is None:
            return True
        try:
            client = self._client
            self._timed(
                "invalidate_pattern",
                [pattern],
                lambda: client.set(f"ns:{prefix}", uuid.uuid4().hex, ex=VERSION_TTL_SECONDS),
            )
        except _ERRORS as exc:
            self._failed("invalidate_pattern", [pattern], exc, invalidation=True)
            return False
        self.breaker.success()
        return True

    def get_or_set(self, key: str, fetch_fn: Callable[[], T], ttl: int | None = None) -> T:
        """The cached value, else ``fetch_fn()`` stored for ``ttl`` (None results are not cached)."""
        found = self.lookup_many([key])[key]
        if found.hit:
            return found.value  # type: ignore[no-any-return]
        value = fetch_fn()
        if value is not None:
            self.store(key, found, value, ttl)
        return value

    # --- batches: one round trip for many keys -------------------------------------------------

    def prefetch(self, keys: Iterable[str]) -> None:
        """A hint for this request: it will read ``keys`` (a route's resource: the meeting of
        ``GET /meetings/{id}``). The request's next shared-tier read (the authentication's pipeline)
        fetches them too, and the route's own read of them is then served from that reply, without a
        round trip of its own. An entry read this way is as exact as a read of its own: it is read
        in the same request, stamped, and dropped by this request's own invalidation of the key."""
        wanted = tuple(dict.fromkeys(keys))
        if self._client is None or not wanted:
            return
        _prefetch.set(_Prefetch(wanted))

    def lookup_many(self, keys: Iterable[str]) -> dict[str, Lookup]:
        """Every key's entry and stamp in at most one shared-tier round trip (one pipeline)."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, Lookup] = {}
        if not self.enabled:
            return {key: Lookup(hit=False) for key in keys}
        hint = _prefetch.get()
        if hint is not None and hint.found:
            for key in [key for key in keys if key in hint.found]:
                found[key] = hint.found.pop(key)
                self.stats.count(prefix_of(key), "hits" if found[key].hit else "misses")
        remote: list[str] = []
        with self._local_lock:
            for key in keys:
                if key in found:
                    continue
                if self._local_allowed(key) and key in self._local:
                    found[key] = Lookup(hit=True, value=self._local[key], local=True)
                    self.stats.count(prefix_of(key), "local_hits")
                else:
                    remote.append(key)
        if not remote:
            return found
        if self._client is None:  # memory: this process is the only writer
            for key in remote:
                found[key] = Lookup(hit=False, stamp="")
                self.stats.count(prefix_of(key), "misses")
            return found
        if not self.breaker.allow():
            for key in remote:
                found[key] = Lookup(hit=False)
                self.stats.count(prefix_of(key), "misses")
            return found
        extra: list[str] = []
        if hint is not None and not hint.fetched:
            hint.fetched = True
            extra = [key for key in hint.wanted if key not in remote and key not in found]
        started = time.perf_counter()
        try:
            replies = self._read_pipeline(remote + extra)
        except _ERRORS as exc:
            self._failed("get", remote, exc)
            for key in remote:
                found[key] = Lookup(hit=False)
                self.stats.count(prefix_of(key), "misses")
            if hint is not None:  # the route reads DynamoDB without a second failing round trip
                hint.found.update({key: Lookup(hit=False) for key in extra})
            return found
        self.breaker.success()
        self._latency(remote, started)
        if hint is not None:
            for key in extra:
                raw, stamp = replies[key]
                entry = _decode(raw)
                hit = entry is not None and entry.get("s") == stamp
                hint.found[key] = Lookup(hit=hit, value=entry.get("d") if hit and entry else None, stamp=stamp)
        for key in remote:
            raw, stamp = replies[key]
            entry = _decode(raw)
            if entry is not None and entry.get("s") == stamp:
                found[key] = Lookup(hit=True, value=entry.get("d"), stamp=stamp)
                self.stats.count(prefix_of(key), "hits")
                if self._local_allowed(key):
                    with self._local_lock:
                        self._local[key] = entry.get("d")
            else:
                found[key] = Lookup(hit=False, stamp=stamp)
                self.stats.count(prefix_of(key), "misses")
        return found

    def store(self, key: str, lookup: Lookup, value: Any, ttl: int | None = None) -> None:
        self.store_many({key: (lookup, value)}, {key: ttl} if ttl else None)

    def store_many(self, items: dict[str, tuple[Lookup, Any]], ttls: dict[str, int] | None = None) -> None:
        """Write fresh values back under the stamps their lookups returned (one pipeline)."""
        if not self.enabled:
            return
        writable = {key: pair for key, pair in items.items() if pair[0].stamp is not None and pair[1] is not None}
        with self._local_lock:
            for key, (_, value) in writable.items():
                if self._local_allowed(key):
                    self._local[key] = value
        if self._client is None or not writable:
            return
        started = time.perf_counter()
        try:
            pipe = self._client.pipeline(transaction=False)
            for key, (lookup, value) in writable.items():
                ttl = (ttls or {}).get(key) or ttl_for(key, self.default_ttl)
                pipe.set(key, json.dumps({"s": lookup.stamp, "d": value}, separators=(",", ":")), ex=ttl)
            self._timed("set", list(writable), pipe.execute)
        except _ERRORS as exc:
            self._failed("set", list(writable), exc)
            return
        self._latency(list(writable), started)

    # --- plain values: no stamp, no in-process tier (presence's last-seen) ----------------------

    def put_plain(self, key: str, value: str, ttl: int) -> bool:
        """``SET key value EX ttl`` in the shared tier: one round trip. False when there is no shared
        tier or it did not answer (the caller keeps its durable record instead)."""
        if self._client is None or not self.breaker.allow():
            return False
        client = self._client
        try:
            self._timed("set", [key], lambda: client.set(key, value, ex=ttl))
        except _ERRORS as exc:
            self._failed("set", [key], exc)
            return False
        self.breaker.success()
        return True

    def get_plain_many(self, keys: Iterable[str]) -> dict[str, str | None] | None:
        """The plain values of ``keys`` in one round trip (a pipeline of GETs, not MGET: a cluster
        refuses MGET across slots); None without an answer."""
        keys = list(dict.fromkeys(keys))
        if self._client is None or not self.breaker.allow():
            return None
        if not keys:
            return {}
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
        try:
            values = self._timed("get", keys, pipe.execute)
        except _ERRORS as exc:
            self._failed("get", keys, exc)
            return None
        self.breaker.success()
        return dict(zip(keys, values, strict=True))

    # --- stats -------------------------------------------------------------------------------

    def flush_stats(self, *, force: bool = False) -> None:
        """Emit this request's cache metrics (EMF) and, every few seconds, add the counts to the shared
        hash the stats endpoint sums (one pipeline; skipped while the tier is down)."""
        self.stats.emit()
        if self._client is None:
            return
        if not force and time.monotonic() - self.stats.last_shared < SHARED_FLUSH_SECONDS:
            return
        if not force and not self.breaker.allow():
            return
        counts = self.stats.take_unshared()
        if not counts:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for prefix, item in counts.items():
                for name in ("hits", "local_hits", "misses", "errors", "evictions"):
                    amount = getattr(item, name)
                    if amount:
                        pipe.hincrby(STATS_KEY, f"{prefix}:{name}", amount)
            self._timed("stats", [STATS_KEY], pipe.execute)
        except _ERRORS as exc:
            self.stats.give_back(counts)
            self.breaker.failure()
            logger.warning("cache stats not shared", extra={"error": type(exc).__name__})

    def report(self) -> dict[str, Any]:
        """``GET /admin/cache/stats``: counts summed over every instance (the shared hash, plus this
        instance's not yet shared), the server's memory and evictions, and whether it answers."""
        self.flush_stats(force=True)
        by_prefix: dict[str, PrefixCounts] = {}
        status, memory, server_evictions = "disabled", None, 0
        if self.backend == "memory":
            status = "ok"
        shared: dict[str, str] = {}
        if self._client is not None:
            try:
                client = self._client
                shared = self._timed("stats", [STATS_KEY], lambda: client.hgetall(STATS_KEY))
                status = "ok"
            except _ERRORS as exc:
                status = "unavailable"
                logger.warning("cache stats unavailable", extra={"error": type(exc).__name__})
            if status == "ok":
                try:
                    info = self._timed("info", [STATS_KEY], client.info)
                    memory = _info_int(info, "used_memory")
                    server_evictions = _info_int(info, "evicted_keys") or 0
                except _ERRORS as exc:  # a server that hides INFO (some managed ones): counts only
                    logger.info("cache server info unavailable", extra={"error": type(exc).__name__})
        for field_name, amount in (shared or {}).items():
            prefix, _, name = str(field_name).rpartition(":")
            counts = by_prefix.setdefault(prefix, PrefixCounts())
            setattr(counts, name, getattr(counts, name, 0) + int(amount))
        for prefix, item in self.stats.take_unshared().items():
            by_prefix.setdefault(prefix, PrefixCounts()).add(item)
            self.stats.give_back({prefix: item})
        if self._client is None:  # no shared hash: this process's counts are the whole story
            by_prefix = dict(self.stats.total)
        hits = sum(c.hits + c.local_hits for c in by_prefix.values())
        misses = sum(c.misses for c in by_prefix.values())
        return {
            "backend": self.backend,
            "status": status,
            "hits": hits,
            "misses": misses,
            "hit_rate": hit_rate(hits, misses),
            "by_prefix": {
                prefix: {
                    "hits": c.hits + c.local_hits,
                    "misses": c.misses,
                    "hit_rate": hit_rate(c.hits + c.local_hits, c.misses),
                }
                for prefix, c in sorted(by_prefix.items())
            },
            "memory_bytes": memory,
            "evictions": server_evictions + sum(c.evictions for c in by_prefix.values()),
        }

    # --- internals -----------------------------------------------------------------------------

    def _local_allowed(self, key: str) -> bool:
        return self.backend == "memory" or prefix_of(key) not in EXACT_PREFIXES

    def _read_pipeline(self, keys: list[str]) -> dict[str, tuple[str | None, str]]:
        assert self._client is not None
        prefixes = list(dict.fromkeys(prefix_of(key) for key in keys))
        pipe = self._client.pipeline(transaction=False)
        for prefix in prefixes:
            pipe.get(f"ns:{prefix}")
        for key in keys:
            pipe.get(f"v:{key}")
            pipe.get(key)
        replies = self._timed("get", keys, pipe.execute)
        namespaces = dict(zip(prefixes, replies[: len(prefixes)], strict=True))
        out: dict[str, tuple[str | None, str]] = {}
        rest = replies[len(prefixes) :]
        for index, key in enumerate(keys):
            version, raw = rest[2 * index], rest[2 * index + 1]
            out[key] = (raw, f"{namespaces[prefix_of(key)] or ''}.{version or ''}")
        return out

    def _current_stamps(self, keys: list[str]) -> dict[str, str | None]:
        if self._client is None:
            return dict.fromkeys(keys, "")
        if not self.breaker.allow():
            return dict.fromkeys(keys)
        try:
            replies = self._read_pipeline(keys)
        except _ERRORS as exc:
            self._failed("get", keys, exc)
            return dict.fromkeys(keys)
        return {key: stamp for key, (_, stamp) in replies.items()}

    @staticmethod
    def _timed(operation: str, keys: Iterable[str], call: Callable[[], T]) -> T:
        """One shared-tier round trip, timed into the slow-operation log (``record_store_call``: over
        ``SLOW_QUERY_MS`` it is logged with the operation and key prefixes, and counted), failed or not."""
        started = time.perf_counter()
        try:
            return call()
        finally:
            prefixes = ",".join(sorted({prefix_of(key) for key in keys}))
            record_store_call("redis", operation, prefixes, time.perf_counter() - started)

    def _latency(self, keys: list[str], started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        for prefix in dict.fromkeys(prefix_of(key) for key in keys):
            self.stats.latency(prefix, elapsed)

    def _failed(self, operation: str, keys: list[str], exc: BaseException, *, invalidation: bool = False) -> None:
        self.breaker.failure()
        prefixes = sorted({prefix_of(key) for key in keys})
        for prefix in prefixes:
            self.stats.count(prefix, "errors")
        if invalidation:
            # The write is in DynamoDB; entries stamped before it may be served by the shared tier
            # until their TTL (the security ones: a minute) if it comes back without this call.
            metrics.add_metric(name="CacheInvalidationFailed", unit="Count", value=1)
        logger.warning(
            "cache unavailable; served from DynamoDB",
            extra={"operation": operation, "key_prefixes": prefixes, "error": type(exc).__name__},
        )


def _forget_prefetched(matches: Callable[[str], bool]) -> None:
    """This request invalidated these keys: what it prefetched of them is not served any more."""
    hint = _prefetch.get()
    if hint is not None:
        for key in [key for key in hint.found if matches(key)]:
            del hint.found[key]


def _decode(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def _info_int(info: Any, name: str) -> int | None:
    if isinstance(info, dict):
        if name in info:
            return int(info[name])
        for value in info.values():  # RedisCluster: per node
            if isinstance(value, dict) and name in value:
                return int(value[name])
    return None
