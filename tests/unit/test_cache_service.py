"""CacheService against fakeredis (the protocol in process): tiers, stamps, invalidation without a
keyspace scan, fail-fast fallbacks and the circuit breaker."""

from __future__ import annotations

from typing import Any

import fakeredis
import pytest
import redis
from agents_meetings.cache.client import CircuitBreaker
from agents_meetings.cache.service import CacheService

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recording(fakeredis.FakeRedis):  # type: ignore[misc]
    """Remembers every command name sent, pipelines included."""

    commands: list[str]

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.commands.append(str(args[0]).upper())
        return super().execute_command(*args, **options)


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


def make(server: fakeredis.FakeServer, clock: Clock | None = None, **kwargs: Any) -> CacheService:
    client = fakeredis.FakeRedis(server=server, decode_responses=True)
    clock = clock or Clock()
    return CacheService(client, breaker=CircuitBreaker(5.0, clock=clock), clock=clock, **kwargs)


def test_get_or_set_fetches_once_then_serves_from_the_shared_tier(server: fakeredis.FakeServer) -> None:
    cache, calls = make(server), []

    def fetch() -> dict[str, str]:
        calls.append(1)
        return {"id": "u1", "name": "Ada"}

    assert cache.get_or_set("user:u1", fetch) == {"id": "u1", "name": "Ada"}
    assert make(server).get_or_set("user:u1", fetch) == {"id": "u1", "name": "Ada"}  # another instance
    assert len(calls) == 1
    assert cache.get("user:missing") is None


def test_a_none_result_is_not_cached(server: fakeredis.FakeServer) -> None:
    cache, calls = make(server), []
    for _ in range(2):
        assert cache.get_or_set("user:ghost", lambda: calls.append(1)) is None
    assert len(calls) == 2


def test_delete_is_seen_by_every_instance_on_its_next_read(server: fakeredis.FakeServer) -> None:
    first, second = make(server), make(server)
    first.set("meeting:m1", {"title": "old"})
    assert second.get("meeting:m1") == {"title": "old"}
    second.delete("meeting:m1")
    assert first.get("meeting:m1") is None


def test_a_fill_that_raced_a_write_is_never_served(server: fakeredis.FakeServer) -> None:
    """Reader looks up (miss), the writer updates DynamoDB and invalidates, the reader then stores
    what it read before the write: stored under the old stamp, it is a miss, not stale data."""
    reader, writer = make(server), make(server)
    lookup = reader.lookup_many(["user:u1"])["user:u1"]
    assert not lookup.hit
    writer.delete("user:u1")
    reader.store("user:u1", lookup, {"name": "before the write"})
    assert make(server).get("user:u1") is None


def test_invalidate_pattern_bumps_a_namespace_without_scanning(server: fakeredis.FakeServer) -> None:
    client = Recording(server=server, decode_responses=True)
    client.commands = []
    cache = CacheService(client)
    cache.set("settings:registration", {"open": True})
    cache.set("settings:banner", {"text": "hi"})
    cache.set("user:u1", {"name": "Ada"})
    assert cache.invalidate_pattern("settings:*")
    assert make(server).get("settings:registration") is None
    assert make(server).get("settings:banner") is None
    assert make(server).get("user:u1") == {"name": "Ada"}
    assert not {"KEYS", "SCAN"} & set(client.commands)


def test_invalidate_pattern_refuses_what_a_namespace_cannot_express(server: fakeredis.FakeServer) -> None:
    with pytest.raises(ValueError, match="prefix"):
        make(server).invalidate_pattern("user:*:sessions")


def test_a_batch_is_one_round_trip(server: fakeredis.FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client = fakeredis.FakeRedis(server=server, decode_responses=True)
    sent: list[list[str]] = []
    original = client.pipeline

    def counting_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = original(*args, **kwargs)
        execute = pipe.execute

        def execute_and_count(*a: Any, **k: Any) -> Any:
            sent.append([str(command[0][0]).upper() for command in pipe.command_stack])
            return execute(*a, **k)

        pipe.execute = execute_and_count
        return pipe

    monkeypatch.setattr(client, "pipeline", counting_pipeline)
    CacheService(client).lookup_many(["user:u1", "session:s1", "deny:j1"])
    assert sent == [["GET"] * 9]  # one pipeline: 3 namespaces, 3 versions, 3 entries


def test_the_in_process_tier_serves_only_what_may_be_stale_for_a_few_seconds(server: fakeredis.FakeServer) -> None:
    clock = Clock()
    cache = make(server, clock, local_ttl=5.0)
    other = make(server)
    cache.set("dashboard:stats", {"users": 1})
    cache.set("user:u1", {"name": "old"})
    other.set("dashboard:stats", {"users": 2})  # fresh entry in Redis (same stamp)
    other.delete("user:u1")
    assert cache.get("dashboard:stats") == {"users": 1}  # in-process, within its bound
    assert cache.get("user:u1") is None  # exact: never from the in-process tier
    clock.now += 5.01
    assert cache.get("dashboard:stats") == {"users": 2}  # past the bound: from Redis
    assert cache.stats.total["dashboard"].local_hits == 1


def test_the_in_process_tier_is_bounded_and_counts_evictions(server: fakeredis.FakeServer) -> None:
    cache = make(server, local_max_entries=2)
    for index in range(5):
        cache.set(f"dashboard:part{index}", index)
    assert cache.stats.total["dashboard"].evictions == 3


def test_an_unreachable_server_is_a_miss_a_metric_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    from agents_meetings.cache.client import NO_RETRY

    dead = redis.Redis(port=1, socket_timeout=0.05, socket_connect_timeout=0.05, retry=NO_RETRY)
    clock = Clock()
    cache = CacheService(dead, breaker=CircuitBreaker(5.0, clock=clock, threshold=1))
    assert cache.get_or_set("user:u1", lambda: {"name": "from DynamoDB"}) == {"name": "from DynamoDB"}
    assert cache.stats.total["user"].errors == 1
    assert cache.breaker.is_open
    # While open, reads skip the tier: no second failure, no added latency.
    assert cache.get_or_set("user:u1", lambda: {"name": "again"}) == {"name": "again"}
    assert cache.stats.total["user"].errors == 1
    assert not cache.delete("user:u1")  # an invalidation is always attempted, and reported
    assert cache.stats.total["user"].errors == 2


def test_the_breaker_lets_one_probe_through_after_its_interval() -> None:
    clock = Clock()
    breaker = CircuitBreaker(5.0, clock=clock, threshold=2)
    breaker.failure()
    assert breaker.allow()  # one failure (a slow reply under load) is not an outage
    breaker.failure()
    assert not breaker.allow()
    clock.now += 5.0
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # the others wait for its answer
    breaker.success()
    assert breaker.allow()


def test_backend_none_always_fetches_and_memory_is_coherent_in_process() -> None:
    off = CacheService(None, backend="none")
    assert off.get_or_set("user:u1", lambda: 1) == 1
    assert off.get("user:u1") is None
    memory = CacheService(None, backend="memory")
    memory.set("user:u1", {"v": 1})
    assert memory.get("user:u1") == {"v": 1}
    memory.delete("user:u1")
    assert memory.get("user:u1") is None


def test_report_sums_what_every_instance_shared(server: fakeredis.FakeServer) -> None:
    first, second = make(server), make(server)
    first.get_or_set("user:u1", lambda: {"n": 1})  # miss
    second.get("user:u1")  # hit
    second.get("user:u1")  # hit
    first.flush_stats(force=True)
    report = second.report()
    assert report["backend"] == "redis" and report["status"] == "ok"
    assert report["by_prefix"]["user"] == {"hits": 2, "misses": 1, "hit_rate": round(2 / 3, 4)}
    assert report["hits"] == 2 and report["misses"] == 1


def _in_a_request_context(call: Any) -> Any:
    """Each request has a context of its own (FastAPI runs it in a task of its own)."""
    import contextvars

    return contextvars.copy_context().run(call)


def test_a_prefetch_hint_rides_along_the_next_round_trip(server: fakeredis.FakeServer) -> None:
    from agents_meetings.observability import observe_store_calls

    writer, cache = make(server), make(server)
    writer.set("meeting:m1", {"title": "Before"})
    round_trips: list[str] = []
    remove = observe_store_calls(lambda store, operation, target, seconds: round_trips.append(target))

    def request() -> tuple[Any, Any]:
        cache.prefetch(["meeting:m1"])
        auth = cache.lookup_many(["user:u1", "session:s1"])  # the authentication's pipeline
        return auth, cache.get("meeting:m1")  # the route's read: served from that reply

    try:
        round_trips.clear()
        auth, meeting = _in_a_request_context(request)
        assert meeting == {"title": "Before"} and not auth["user:u1"].hit
        assert round_trips == ["meeting,session,user"]  # one round trip: the hint rode along
        writer.delete("meeting:m1")  # another instance's write: the next request's prefetch sees it
        round_trips.clear()
        assert _in_a_request_context(request)[1] is None
        assert cache.get("meeting:m1") is None  # outside a request: a round trip of its own
    finally:
        remove()


def test_a_prefetched_entry_is_dropped_by_the_requests_own_invalidation(server: fakeredis.FakeServer) -> None:
    cache = make(server)
    cache.set("meeting:m1", {"title": "Before"})

    def request() -> Any:
        cache.prefetch(["meeting:m1"])
        cache.lookup_many(["user:u1"])
        cache.delete("meeting:m1")  # this request wrote the meeting
        return cache.lookup_many(["meeting:m1"])["meeting:m1"]

    found = _in_a_request_context(request)
    assert not found.hit and found.stamp is not None  # read afresh, with the new stamp


def test_a_prefetch_during_an_outage_costs_no_second_failed_round_trip() -> None:
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.05, retry=None)
    cache = CacheService(client, breaker=CircuitBreaker(5.0, threshold=100))

    def request() -> Any:
        cache.prefetch(["meeting:m1"])
        cache.lookup_many(["user:u1"])
        return cache.lookup_many(["meeting:m1"])["meeting:m1"]

    found = _in_a_request_context(request)
    assert not found.hit and found.stamp is None  # served from DynamoDB, nothing written back
    assert cache.breaker.failures == 1
