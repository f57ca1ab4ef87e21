"""Shared test set-up: a safe environment (set before the platform is imported), moto-backed AWS,
an HTTP client over every router, and helpers that register, approve and log users in.
"""

from __future__ import annotations

import os

# Set before anything imports agents_meetings: settings, Powertools and boto3 read these once.
_TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "ENVIRONMENT": "test",
    "JWT_SECRET": "test-jwt-secret-0123456789abcdef0123456789abcdef",  # 48 characters
    "LIVEKIT_API_KEY": "testkey",
    "LIVEKIT_API_SECRET": "test-livekit-secret-0123456789abcdefghij",  # 40 characters
    "LIVEKIT_URL": "ws://127.0.0.1:7880",
    # Argon2id at its cheapest: registrations and logins stay fast.
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "64",
    # Most tests use admin endpoints without enrolling 2FA; the 2FA tests switch the rule on.
    "ADMIN_2FA_REQUIRED": "false",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "AgentsMeetingsTest",
    # botocore would otherwise address account-scoped endpoints moto does not match.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    # Off for every test but the rate-limit ones (their `rate_limiting` fixture turns it on).
    "RATE_LIMIT_ENABLED": "false",
    # Off for every test but the cache ones (their `cache_on` fixture starts the real redis-server's use).
    "CACHE_BACKEND": "none",
}
for _name, _value in _TEST_ENVIRONMENT.items():
    os.environ[_name] = _value
# Never reach a real endpoint, profile or secret from a developer's shell.
for _name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "JWT_SECRET_ARN"):
    os.environ.pop(_name, None)

# Loopback only, for the whole run (collection and fixtures included): name resolution of anything
# else is refused before a DNS query is sent, and so is a connect to a non-loopback address. On top
# of it, pytest-socket (--allow-hosts in pyproject.toml) refuses such connects in every test; its
# per-test clean-up restores the connect it started with, so it is handed this guarded one.
import socket  # noqa: E402

import pytest_socket  # noqa: E402

from infra.local import loopback_guard  # noqa: E402
from infra.local.redis_server import RedisServer  # noqa: E402

loopback_guard.install()
pytest_socket._true_connect = socket.socket.connect

import importlib.util  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
import pytest  # noqa: E402
from fastapi import FastAPI  # noqa: E402

with warnings.catch_warnings():
    # Starlette suggests httpx2 for its TestClient; httpx is what the project pins.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient
from agents_meetings import clock  # noqa: E402
from agents_meetings.cache import reset_cache_service  # noqa: E402
from agents_meetings.events.catalog import DomainEvent  # noqa: E402
from agents_meetings.events.publisher import EventBridgePublisher  # noqa: E402
from agents_meetings.http import dependencies  # noqa: E402
from agents_meetings.http.app import create_app  # noqa: E402
from agents_meetings.http.routers import ALL_ROUTERS, docs  # noqa: E402
from agents_meetings.identity import passwords  # noqa: E402
from agents_meetings.identity.tokens import reset_signing_key  # noqa: E402
from agents_meetings.settings import get_settings, reset_settings  # noqa: E402
from agents_meetings.storage import reset_object_stores  # noqa: E402
from agents_meetings.tables import create_tables  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.dynamodb.models import DynamoDBBackend  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
PASSWORD = "Correct-Horse-Battery-7"  # meets the password policy (spec 3.1)
CAPTURE_QUEUE = "captured-platform-events"
CAPTURE_RULE = "capture-platform-events"


def reset_platform_caches() -> None:
    """Forget everything the platform caches per container (settings, keys, clients, hashers)."""
    reset_settings()
    reset_signing_key()
    dependencies.event_publisher.cache_clear()
    passwords._hasher.cache_clear()
    passwords._dummy_hash.cache_clear()
    reset_object_stores()
    reset_cache_service()


# --- moto in process, as atomic as DynamoDB -------------------------------------------------

# DynamoDB evaluates a write's condition and applies it atomically; in-process moto does not when
# threads call it concurrently (two conditional updates of one item can both pass), and a
# transaction deep-copies tables while another write changes them. Tests that race requests on
# threads need the real guarantee, so moto's DynamoDB operations run one at a time here (the local
# runtime gets the same from infra/local/durability.py).
_DYNAMODB_LOCK = threading.RLock()


def _one_at_a_time(method: Any) -> Any:
    def serialised(*args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB_LOCK:
            return method(*args, **kwargs)

    return serialised


for _operation in (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "transact_write_items",
    "transact_get_items",
    "batch_get_item",
):
    setattr(DynamoDBBackend, _operation, _one_at_a_time(getattr(DynamoDBBackend, _operation)))


# --- isolation -----------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _environment_per_module() -> Iterator[None]:
    """Each test module starts from the suite's environment: what a module's fixtures set (the
    local runtime's provisioner exports queue URLs and endpoints) does not leak into the next
    module that the same xdist worker runs."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    reset_platform_caches()


# --- network -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """A test that tried to reach beyond loopback fails, even where the code swallowed the refusal
    (a fail-open path, a retry loop). A test that provokes one on purpose takes it
    (``loopback_guard.take_refusals()``)."""
    earlier = loopback_guard.take_refusals()
    assert not earlier, f"reached beyond loopback outside a test (collection, a fixture): {earlier}"
    yield
    refused = loopback_guard.take_refusals()
    assert not refused, f"this test tried to reach beyond loopback: {refused}"


# --- speed ---------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _reuse_dynamodb_clients() -> Iterator[None]:
    """Speed only. Building a botocore client costs 20-40 ms (and pynamodb builds a botocore session
    per Connection, ~60 ms more). The platform builds them once per container, except for a
    Connection per transaction (a test counts those); the tests rebuild the app on every test. Here
    every pynamodb Connection to the same endpoint shares one client (clients are thread-safe)."""
    import threading

    import pynamodb.connection.base

    connection_class = pynamodb.connection.base.Connection
    build_client = connection_class.client.fget
    clients: dict[tuple[Any, ...], Any] = {}
    lock = threading.Lock()

    def shared_client(self: Any) -> Any:
        key = (self.region, self.host)
        with lock:
            if self._client is None and key in clients:
                self._client = clients[key]
            client = build_client(self)
            clients.setdefault(key, client)
        return client

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(connection_class, "client", property(shared_client))
        yield


# --- time -----------------------------------------------------------------------------------


class Clock:
    """A controllable clock installed through agents_meetings.clock.set_clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        clock.set_clock(lambda: self.now)

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture(autouse=True)
def _system_clock_after_each_test() -> Iterator[None]:
    yield
    clock.set_clock(None)


@pytest.fixture
def frozen_clock() -> Iterator[Clock]:
    """The platform's clock stopped at the current instant (never earlier: tokens issued before stay
    valid); ``advance(...)`` moves it."""
    fixed = Clock(datetime.now(UTC))
    yield fixed
    clock.set_clock(None)


# --- AWS (moto) -----------------------------------------------------------------------------


_BOTO3_CLIENTS: dict[str, Any] = {}


def boto3_client(service: str) -> Any:
    """One boto3 client per service for the whole run: moto intercepts every client, whenever made."""
    if service not in _BOTO3_CLIENTS:
        _BOTO3_CLIENTS[service] = boto3.client(service, region_name=_TEST_ENVIRONMENT["AWS_REGION"])
    return _BOTO3_CLIENTS[service]


@dataclass
class AwsHarness:
    """Handle on the mocked account: the platform tables exist, the bus's events are captured."""

    queue_url: str
    _received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def settings(self) -> Any:
        return get_settings()

    def client(self, service: str) -> Any:
        return boto3_client(service)

    def _drain(self) -> None:
        sqs = self.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            for message in messages:
                event = json.loads(message["Body"])
                self._received.append((event["detail-type"], event["detail"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """Every (detail_type, detail) published on the platform bus so far, in order."""
        self._drain()
        return list(self._received)

    def events_of(self, event: DomainEvent | str) -> list[dict[str, Any]]:
        return [detail for detail_type, detail in self.events() if detail_type == str(event)]


@pytest.fixture
def aws() -> Iterator[AwsHarness]:
    """moto for the whole test: every platform table, the event bus and a queue capturing its events."""
    with mock_aws():
        reset_platform_caches()
        settings = get_settings()
        create_tables(settings)
        events, sqs = boto3_client("events"), boto3_client("sqs")
        events.create_event_bus(Name=settings.event_bus_name)
        boto3_client("s3").create_bucket(Bucket=settings.s3_bucket_name)
        queue_url = sqs.create_queue(QueueName=CAPTURE_QUEUE)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name=CAPTURE_RULE,
            EventBusName=settings.event_bus_name,
            EventPattern=json.dumps({"source": [{"prefix": "agents-meetings"}]}),
        )
        events.put_targets(
            Rule=CAPTURE_RULE, EventBusName=settings.event_bus_name, Targets=[{"Id": "capture", "Arn": queue_arn}]
        )
        # The app's publisher (one per container) gets the run's events client: building a boto3
        # client costs ~150 ms here, and every test starts a new "container".
        publisher = dependencies.event_publisher()
        if isinstance(publisher, EventBridgePublisher):
            publisher._client = events
        yield AwsHarness(queue_url=queue_url)
        clock.set_clock(None)
    reset_platform_caches()


# --- Lambda handlers ---------------------------------------------------------------------------

_module_counter = itertools.count()


def load_handler_module(folder: str) -> ModuleType:
    """Import functions/<folder>/handler.py afresh (it binds settings and clients at import)."""
    path = FUNCTIONS_DIR / folder / "handler.py"
    name = f"lambda_{folder.replace('/', '_')}_{next(_module_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


@pytest.fixture
def load_handler() -> Callable[[str], ModuleType]:
    """``load_handler("auth")`` imports functions/auth/handler.py afresh under a unique module name."""
    return load_handler_module


# --- HTTP -------------------------------------------------------------------------------------


def build_test_app() -> FastAPI:
    return create_app("test", [*ALL_ROUTERS, docs.router], with_docs=True)


@pytest.fixture
def app(aws: AwsHarness) -> FastAPI:
    return build_test_app()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def quiet_client(app: FastAPI) -> Iterator[TestClient]:
    """A client that returns 500 responses instead of re-raising the server's exception."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


@dataclass
class Account:
    """A registered user. Unpacks as ``(user_id, headers)``; ``headers`` is None if it cannot log in."""

    id: str
    email: str
    password: str
    headers: dict[str, str] | None
    tokens: dict[str, Any] | None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.id, self.headers))


class Api:
    """Thin helpers over the HTTP API, so tests read as the user story they check."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def register(self, email: str, password: str = PASSWORD, full_name: str = "Test User", **extra: Any) -> Any:
        body = {"email": email, "password": password, "full_name": full_name, **extra}
        return self.client.post("/api/v1/auth/register", json=body)

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self.client.post("/api/v1/auth/login", json={"email": email, "password": password})

    def tokens(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = self.login(email, password)
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
def admin(api: Api) -> Account:
    """The first account registered: an approved admin (the bootstrap rule)."""
    email = unique_email("admin")
    response = api.register(email, full_name="First Admin")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["role"] == "admin" and body["status"] == "approved", body
    tokens = api.tokens(email)
    return Account(body["id"], email, PASSWORD, bearer(tokens["access_token"]), tokens)


@pytest.fixture
def admin_headers(admin: Account) -> dict[str, str]:
    return admin.headers or {}


MakeUser = Callable[..., Account]


@pytest.fixture
def make_user(api: Api, admin: Account) -> MakeUser:
    """Register a user and bring it to the wanted state through the admin API.

    ``status``: approved (default), pending or rejected; ``role``: set by the admin after approval;
    ``active=False`` deactivates it after logging in (its token then stops working).
    """

    def _make(
        role: str = "participant",
        *,
        status: str = "approved",
        active: bool = True,
        full_name: str = "Test User",
        email: str | None = None,
    ) -> Account:
        email = email or unique_email(role)
        response = api.register(email, full_name=full_name)
        assert response.status_code == 201, response.text
        user_id = response.json()["id"]
        admin_headers = admin.headers or {}
        if status == "approved":
            approved = api.client.post(f"/api/v1/admin/users/{user_id}/approve", headers=admin_headers)
            assert approved.status_code == 200, approved.text
            if role != "participant":
                changed = api.client.put(
                    f"/api/v1/admin/users/{user_id}/role", json={"role": role}, headers=admin_headers
                )
                assert changed.status_code == 200, changed.text
        elif status == "rejected":
            rejected = api.client.post(f"/api/v1/admin/users/{user_id}/reject", headers=admin_headers)
            assert rejected.status_code == 200, rejected.text
        else:
            assert status == "pending", status
        tokens = api.tokens(email) if status == "approved" else None
        if not active:
            deactivated = api.client.post(f"/api/v1/admin/users/{user_id}/deactivate", headers=admin_headers)
            assert deactivated.status_code == 200, deactivated.text
        headers = bearer(tokens["access_token"]) if tokens else None
        return Account(user_id, email, PASSWORD, headers, tokens)

    return _make


@pytest.fixture
def data_key(aws: AwsHarness) -> Iterator[str]:
    """The KMS key (under DATA_KEY_ID's alias) that seals secrets at rest, in this test's moto account."""
    from agents_meetings import crypto

    crypto.secrets_cipher.cache_clear()
    kms = aws.client("kms")
    key = kms.create_key(Description="test data key")["KeyMetadata"]
    kms.create_alias(AliasName=get_settings().data_key_id, TargetKeyId=key["KeyId"])
    yield str(key["Arn"])
    crypto.secrets_cipher.cache_clear()


# --- Flaky tests are named, not hidden (issue 17) ------------------------------------------------
# `make test` reruns a failed test once (pytest-rerunfailures). A pass on the rerun keeps the run
# green, but every rerun is listed at the end of the run and in reports/reruns.txt: a flaky test is
# a defect to fix.
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    names = sorted({report.nodeid for report in terminalreporter.stats.get("rerun", [])})
    if not names:
        return
    terminalreporter.section(f"{len(names)} test(s) failed once and were rerun: flaky, fix them", yellow=True)
    for name in names:
        terminalreporter.write_line(f"RERUN {name}")
    junit = config.getoption("xmlpath", None)
    if junit:
        Path(junit).parent.joinpath("reruns.txt").write_text("".join(f"{name}\n" for name in names))


# --- the cache's shared tier: a real redis-server -------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the run (system-packages.txt installs it), on a free loopback port."""
    from infra.local.runtime import free_port

    server = RedisServer(free_port(), log_path=tmp_path_factory.mktemp("redis") / "redis.log").start()
    yield server
    server.stop()


@pytest.fixture
def cache_on(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    """The platform's cache on, against the real redis-server, emptied first."""
    import redis

    if not redis_server.running:  # a failover test stopped it
        redis_server.start()
    for name, value in redis_server.env.items():
        monkeypatch.setenv(name, value)
    redis.Redis(host="127.0.0.1", port=redis_server.port).flushdb()
    reset_settings()
    reset_cache_service()
    yield redis_server
    reset_cache_service()
    reset_settings()
