"""`make dev`: the whole platform on http://127.0.0.1:$PORT with an embedded AWS, no Docker, no network.

Start-up: embedded AWS -> resources from the catalogue -> persisted data replayed -> local admin
seeded -> event delivery and schedules -> the API gateway. Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.catalog import FUNCTIONS, REPO_ROOT

DEFAULT_ADMIN_EMAIL = "admin@agents-meetings.example.com"
DEFAULT_ADMIN_PASSWORD = "Local-Admin-Passw0rd!"  # noqa: S105 - printed at start; local runtime only


@dataclass(frozen=True)
class LocalConfig:
    port: int
    aws_port: int
    data_dir: Path | None  # None: nothing persisted (tests that want a clean slate)
    admin_email: str
    admin_password: str
    host: str = "127.0.0.1"

    @classmethod
    def from_env(cls) -> LocalConfig:
        data_dir = os.environ.get("LOCAL_DATA_DIR", str(REPO_ROOT / ".local" / "data"))
        return cls(
            port=int(os.environ.get("PORT", "8000")),
            aws_port=int(os.environ.get("LOCAL_AWS_PORT", "0")) or free_port(),
            data_dir=Path(data_dir) if data_dir not in ("", "none") else None,
            admin_email=os.environ.get("LOCAL_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL),
            admin_password=os.environ.get("LOCAL_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD),
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_secrets(data_dir: Path | None) -> dict[str, str]:
    """Signing keys made once per data directory (so tokens survive a restart), never hard-coded."""
    path = data_dir / "secrets.json" if data_dir else None
    wanted = {
        "JWT_SECRET": lambda: secrets.token_urlsafe(48),
        "LIVEKIT_API_SECRET": lambda: secrets.token_urlsafe(32),
        "LOCAL_STORAGE_SIGNING_KEY": lambda: secrets.token_urlsafe(32),
    }
    values = dict(json.loads(path.read_text())) if path and path.exists() else {}
    if all(name in values for name in wanted):
        return values
    # A data directory from before a key existed keeps its keys and gains the new one.
    values.update({name: make() for name, make in wanted.items() if name not in values})
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
        path.chmod(0o600)
    return values


def configure_environment(config: LocalConfig) -> None:
    """What Lambda's configuration gives each function in the cloud; set before any handler loads."""
    keys = local_secrets(config.data_dir)
    env = {
        "ENVIRONMENT": "local",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{config.aws_port}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",  # the embedded AWS accepts any credentials
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "AgentsMeetingsLocal",
        "POWERTOOLS_SERVICE_NAME": "agents-meetings-local",
        # On: their EMF goes to infra/local/metrics.py (GET /metrics), not to the log.
        "POWERTOOLS_METRICS_DISABLED": "false",
        "JWT_SECRET": keys["JWT_SECRET"],
    }
    os.environ.update(env)
    # Nothing may send a client elsewhere: a profile, a per-service endpoint (AWS_ENDPOINT_URL_S3...,
    # which botocore prefers to AWS_ENDPOINT_URL) or the switch that ignores configured endpoints.
    for name in [*os.environ]:
        if name in ("AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") or name.startswith("AWS_ENDPOINT_URL_"):
            del os.environ[name]
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("LIVEKIT_URL", "ws://127.0.0.1:7880")
    os.environ.setdefault("LIVEKIT_API_KEY", "agents-meetings-local")
    os.environ.setdefault("LIVEKIT_API_SECRET", keys["LIVEKIT_API_SECRET"])
    # Password reset links point at the local front door.
    os.environ.setdefault("PUBLIC_APP_URL", f"http://{config.host}:{config.port}")
    # Admins must enrol 2FA before using admin endpoints, locally too (the e2e suite turns it off).
    os.environ.setdefault("ADMIN_2FA_REQUIRED", "true")
    # The embedded search engine keeps its indexes beside the rest of the local data.
    if config.data_dir is not None:
        os.environ.setdefault("SEARCH_INDEX_DIR", str(config.data_dir / "search"))
    if os.environ.get("STORAGE_BACKEND", "").lower() == "local":
        # Objects beside the rest of the local data (or in a throw-away directory), signed URLs
        # served by this runtime (infra/local/storage_server.py), writes announced as S3 would.
        storage_dir = config.data_dir / "storage" if config.data_dir else Path(tempfile.mkdtemp(prefix="storage-"))
        os.environ.setdefault("LOCAL_STORAGE_DIR", str(storage_dir))
        os.environ.setdefault("LOCAL_STORAGE_SIGNING_KEY", keys["LOCAL_STORAGE_SIGNING_KEY"])
        os.environ.setdefault("LOCAL_STORAGE_URL", f"http://{config.host}:{config.port}/_storage")
        os.environ["LOCAL_STORAGE_EVENTS"] = "true"
    # Notifications: the local WebSocket API and its management endpoint (infra/local/websocket.py).
    from infra.local.websocket import MANAGEMENT_PREFIX, WS_PATH

    os.environ["WEBSOCKET_MANAGEMENT_URL"] = f"http://{config.host}:{config.port}{MANAGEMENT_PREFIX}"
    os.environ["WEBSOCKET_URL"] = f"ws://{config.host}:{config.port}{WS_PATH}"


class LocalPlatform:
    """Everything but the HTTP server; tests start it in-process, `main` wraps it with uvicorn."""

    def __init__(self, config: LocalConfig):
        self.config = config
        self.aws: Any = None
        self.router: Any = None
        self.registry: Any = None
        self.gateway: Any = None
        self.livekit: Any = None  # the embedded LiveKit emulator, when no LIVEKIT_URL is configured
        self.metrics: Any = None  # infra.local.metrics.MetricsCollector: the functions' EMF
        self.replayed = 0
        self.data_lock: Any = None
        self.redis: Any = None  # infra.local.redis_server.RedisServer: the cache's shared tier

    def start(self) -> None:
        if self.config.data_dir is not None:  # one runtime (or backup, or restore) per data directory
            from infra.local.datalock import DataDirLock

            self.data_lock = DataDirLock(self.config.data_dir, "the local runtime").acquire()
        embedded_livekit = not os.environ.get("LIVEKIT_URL")
        configure_environment(self.config)
        from infra.local import logs, metrics

        self.metrics = metrics.install()
        if os.environ.get("LOCAL_LOG_FILE"):  # `make logs` follows it
            logs.write_to(Path(os.environ["LOCAL_LOG_FILE"]))
        if embedded_livekit:
            self._start_livekit()
        self._start_redis()
        from agents_meetings.settings import get_settings, reset_settings

        from infra.local.embedded_aws import EmbeddedAws
        from infra.local.event_router import EventRouter
        from infra.local.functions import FunctionRegistry
        from infra.local.gateway import LocalApiGateway
        from infra.local.provision import ACCOUNT_ID, Provisioner

        reset_settings()
        settings = get_settings()
        self.registry = FunctionRegistry()
        self.aws = EmbeddedAws(
            self.config.aws_port, self.config.data_dir, self.registry, account_id=ACCOUNT_ID, region=settings.aws_region
        )
        self.aws.start()
        provisioner = Provisioner(settings, self.aws.url)
        queues = provisioner.provision()
        self.aws.keep_data_key(settings.data_key_id, ACCOUNT_ID, settings.aws_region)
        self.replayed = self.aws.restore()
        provisioner.enable_object_events()
        self._seed_admin()
        self.router = EventRouter(
            self.registry, queues, self.aws.url, settings.aws_region, triggers=provisioner.triggers
        )
        self.router.start()
        from infra.local.storage_server import LocalStorageServer
        from infra.local.websocket import LocalWebSocketApi

        storage = LocalStorageServer() if settings.storage_backend == "local" else None
        self.gateway = LocalApiGateway(
            self.registry, websockets=LocalWebSocketApi(self.registry), storage=storage, metrics=self.metrics
        )
        for decl in FUNCTIONS:  # warm every container now, so the first request is not a cold start
            self.registry.handler(decl.name)

    def _start_livekit(self) -> None:
        """LiveKit's Egress API with real media (infra/local/livekit_emulator.py), webhooks to our gateway."""
        from agents_meetings.settings import get_settings, reset_settings

        from infra.local.livekit_emulator import LiveKitEmulator

        reset_settings()
        self.livekit = LiveKitEmulator(
            os.environ["LIVEKIT_API_KEY"],
            os.environ["LIVEKIT_API_SECRET"],
            webhook_url=f"http://{self.config.host}:{self.config.port}/api/v1/webhooks/livekit",
            max_duration_seconds=float(os.environ.get("LOCAL_LIVEKIT_MAX_RECORDING_SECONDS", "30")),
            # STORAGE_BACKEND=local: an egress whose output volume is the storage directory.
            local_storage=get_settings().storage_backend == "local",
        ).start()
        os.environ["LIVEKIT_URL"] = self.livekit.url

    def _start_redis(self) -> None:
        """The cache's shared tier: a real redis-server on a free loopback port, unless the environment
        names one (REDIS_HOST) or turns the shared tier off (CACHE_BACKEND=memory or none)."""
        from infra.local.redis_server import RedisServer, redis_server_binary

        backend = os.environ.get("CACHE_BACKEND", "redis").lower()
        if backend != "redis" or os.environ.get("REDIS_HOST"):
            return
        if redis_server_binary() is None:
            # One process serves every function here, so the in-process tier alone stays coherent.
            print("redis-server not found (make dev installs it): cache in process only", file=sys.stderr)
            os.environ["CACHE_BACKEND"] = "memory"
            return
        log = self.config.data_dir / "redis.log" if self.config.data_dir else None
        self.redis = RedisServer(free_port(), log_path=log).start()
        os.environ.update(self.redis.env)

    def cache_description(self) -> str:
        """The banner's cache line: the redis-server this runtime started (its pid: stop it by pid), or
        what the cache uses otherwise."""
        if self.redis is not None and self.redis.process is not None:
            return f"redis-server {self.redis.env['REDIS_HOST']}:{self.redis.port} (pid {self.redis.process.pid})"
        backend = os.environ.get("CACHE_BACKEND", "redis").lower()
        if backend == "redis":
            return f"redis at {os.environ.get('REDIS_HOST')}:{os.environ.get('REDIS_PORT', '6379')} (not started here)"
        return f"{backend} (no shared tier)"

    def _seed_admin(self) -> None:
        from agents_meetings.events.publisher import EventBridgePublisher
        from agents_meetings.identity.service import AuthService, NewAccount, find_by_email
        from agents_meetings.tables import bind_tables

        bind_tables()
        if find_by_email(self.config.admin_email) is None:
            AuthService(EventBridgePublisher()).register(
                NewAccount(self.config.admin_email, self.config.admin_password, "Local Admin"), as_admin=True
            )

    def stop(self) -> None:
        if self.livekit is not None:
            self.livekit.stop()
        if self.router is not None:
            self.router.stop()
        if self.aws is not None:
            self.aws.stop()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        if self.data_lock is not None:
            self.data_lock.release()
            self.data_lock = None


# In the cloud every function has its own process; here the API, the workers and the embedded AWS
# share one interpreter, and a short request (a WebSocket frame's few round trips) queues for the
# GIL behind every busy worker thread at each hand-off. A 1 ms switch interval instead of 5 ms
# keeps those waits short (event -> frame stays within the spec's second while an indexer runs).
GIL_SWITCH_INTERVAL_SECONDS = 0.001


def main() -> None:
    from infra.local.loopback_guard import install_from_environment

    # Test mode (AGENTS_MEETINGS_LOOPBACK_ONLY=1, set by the e2e suite and the benchmarks): this
    # process may reach loopback only, so an AWS client that escaped the embedded AWS is an error.
    loopback_only = install_from_environment()
    import uvicorn

    from infra.local.http_protocol import JsonErrorH11Protocol

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
    config = LocalConfig.from_env()
    started = time.perf_counter()
    platform = LocalPlatform(config)
    from infra.local.datalock import DataDirInUse

    try:
        platform.start()
    except DataDirInUse as exc:
        platform.stop()
        sys.exit(f"error: {exc}")
    server = uvicorn.Server(
        uvicorn.Config(
            platform.gateway,
            host=config.host,
            port=config.port,
            log_level="warning",
            lifespan="off",
            http=JsonErrorH11Protocol,
        )
    )
    base = f"http://{config.host}:{config.port}"
    network = "  Network       loopback only (AGENTS_MEETINGS_LOOPBACK_ONLY)\n" if loopback_only else ""
    print(
        f"\nAgents-Meetings is running on {base}  (ready in {time.perf_counter() - started:.1f}s)\n"
        f"  API docs      {base}/docs   OpenAPI {base}/api/openapi.json\n"
        f"  Health        {base}/api/v1/health   Metrics {base}/metrics\n"
        f"  Admin         {config.admin_email} / "
        f"{'(LOCAL_ADMIN_PASSWORD)' if 'LOCAL_ADMIN_PASSWORD' in os.environ else config.admin_password}\n"
        f"  Embedded AWS  {platform.aws.url}\n"
        f"  LiveKit       {os.environ.get('LIVEKIT_URL')}{' (embedded egress emulator)' if platform.livekit else ''}\n"
        f"  Cache         {platform.cache_description()}\n"
        f"  Data          {config.data_dir or 'not persisted'} ({platform.replayed} changes restored"
        f" in {platform.aws.last_restore.seconds:.2f}s)\n"
        f"{network}"
        "  Stop with Ctrl-C.\n",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn has already shut down cleanly; Ctrl-C is the normal way to stop
    finally:
        platform.stop()
        print("Agents-Meetings stopped.", flush=True)
    sys.exit(0)
