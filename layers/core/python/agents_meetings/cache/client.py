"""The shared tier's client: redis-py, configured to fail fast, and a circuit breaker around it.

Sync ``redis.Redis`` / ``redis.RedisCluster``, not ``redis.asyncio``: the request path is sync
(pynamodb, boto3) inside one event-loop turn per Lambda invocation, so an async client would need a
loop hop per call for nothing (README, design notes). ElastiCache Serverless speaks only the
cluster protocol over TLS: ``REDIS_CLUSTER_ENABLED=true`` gives ``RedisCluster(ssl=True)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from agents_meetings.settings import Settings

# A dead server must cost one fast failure, not redis-py's default 10 retries with backoff (seconds).
NO_RETRY = Retry(NoBackoff(), 0)

RedisClient = Any  # redis.Redis | RedisCluster: the same command and pipeline API here


def build_client(settings: Settings) -> RedisClient:
    timeout = settings.redis_timeout_ms / 1000
    password = settings.redis_password.get_secret_value() if settings.redis_password else None
    common: dict[str, Any] = {
        "host": settings.redis_host,
        "port": settings.redis_port,
        "password": password or None,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": NO_RETRY,
        "ssl": settings.redis_tls_enabled,
        "decode_responses": True,
        "health_check_interval": 0,
    }
    if settings.redis_cluster_enabled:
        # A cluster has database 0 only; a failed node is not retried either.
        return RedisCluster(**common, cluster_error_retry_attempts=0, require_full_coverage=False)
    return redis.Redis(**common, db=settings.redis_db)


class CircuitBreaker:
    """After ``threshold`` failures in a row, reads skip the shared tier for ``open_seconds`` (served
    from DynamoDB at no added cost); then one request probes. So an outage costs a few fast failures,
    then one per interval."""

    def __init__(self, open_seconds: float, clock: Callable[[], float] = time.monotonic, *, threshold: int = 3) -> None:
        self._open_seconds = open_seconds
        self._clock = clock
        self._threshold = threshold
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._consecutive = 0
        self.failures = 0

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def allow(self) -> bool:
        with self._lock:
            if self._clock() < self._open_until:
                return False
            if self._open_until:
                # Half-open: this caller probes; the others keep skipping until it answers.
                self._open_until = self._clock() + self._open_seconds
            return True

    def success(self) -> None:
        with self._lock:
            self._open_until = 0.0
            self._consecutive = 0

    def failure(self) -> None:
        """Opens after ``threshold`` failures in a row (one slow reply under load is not an outage),
        or at once when the half-open probe fails."""
        with self._lock:
            self.failures += 1
            self._consecutive += 1
            if self._open_until or self._consecutive >= self._threshold:
                self._open_until = self._clock() + self._open_seconds
