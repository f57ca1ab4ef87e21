"""What the cache did, by key prefix: hits (per tier), misses, errors, evictions and latency.

Counted in process (cheap, lock-protected: the local runtime serves requests on threads), emitted
as one EMF document per prefix when a request ends (``emit``), and added to a hash in the shared
tier at most every ``SHARED_FLUSH_SECONDS`` per container (``CacheService.flush_stats``), so that
``GET /admin/cache/stats`` sums every instance without a round trip per request.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

SHARED_FLUSH_SECONDS = 10.0
# Latency samples kept per prefix between two emits (a request makes a handful of calls).
MAX_SAMPLES = 100
COUNTERS = ("hits", "local_hits", "misses", "errors", "evictions")


@dataclass
class PrefixCounts:
    hits: int = 0
    local_hits: int = 0
    misses: int = 0
    errors: int = 0
    evictions: int = 0
    latency_ms: list[float] = field(default_factory=list)

    def add(self, other: PrefixCounts) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def hit_rate(hits: int, misses: int) -> float:
    return round(hits / (hits + misses), 4) if hits + misses else 0.0


class CacheStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total: dict[str, PrefixCounts] = defaultdict(PrefixCounts)  # since the container started
        self._pending: dict[str, PrefixCounts] = defaultdict(PrefixCounts)  # not yet in EMF
        self._unshared: dict[str, PrefixCounts] = defaultdict(PrefixCounts)  # not yet in Redis
        self.last_shared = time.monotonic()

    def count(self, prefix: str, what: str, amount: int = 1, latency_ms: float | None = None) -> None:
        with self._lock:
            for table in (self.total, self._pending, self._unshared):
                counts = table[prefix]
                setattr(counts, what, getattr(counts, what) + amount)
            if latency_ms is not None:
                samples = self._pending[prefix].latency_ms
                if len(samples) < MAX_SAMPLES:
                    samples.append(latency_ms)

    def latency(self, prefix: str, latency_ms: float) -> None:
        with self._lock:
            samples = self._pending[prefix].latency_ms
            if len(samples) < MAX_SAMPLES:
                samples.append(latency_ms)

    def take_unshared(self) -> dict[str, PrefixCounts]:
        with self._lock:
            taken, self._unshared = dict(self._unshared), defaultdict(PrefixCounts)
            self.last_shared = time.monotonic()
            return taken

    def give_back(self, counts: dict[str, PrefixCounts]) -> None:
        """Counts that could not reach the shared tier: kept for the next flush."""
        with self._lock:
            for prefix, item in counts.items():
                self._unshared[prefix].add(item)

    def emit(self) -> None:
        """One EMF document per prefix with what happened since the last emit (nothing: no output)."""
        with self._lock:
            pending, self._pending = self._pending, defaultdict(PrefixCounts)
        for prefix, counts in sorted(pending.items()):
            values = {
                "CacheHits": counts.hits + counts.local_hits,
                "CacheLocalHits": counts.local_hits,
                "CacheMisses": counts.misses,
                "CacheErrors": counts.errors,
                "CacheEvictions": counts.evictions,
            }
            if not any(values.values()) and not counts.latency_ms:
                continue
            document = AmazonCloudWatchEMFProvider()
            document.add_dimension(name="KeyPrefix", value=prefix)
            for name, value in values.items():
                document.add_metric(name=name, unit="Count", value=value)
            for sample in counts.latency_ms:
                document.add_metric(name="CacheLatency", unit="Milliseconds", value=round(sample, 3))
            document.flush_metrics()
