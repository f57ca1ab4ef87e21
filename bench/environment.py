"""The environment every benchmark runs the platform's code under: offline, quiet, no AWS endpoint.

Offline is enforced, not hoped for: :func:`guard_process` installs the loopback guard
(infra/local/loopback_guard.py) in the benchmark process and asks for it in every process a
benchmark starts (``AGENTS_MEETINGS_LOOPBACK_ONLY=1``), so an AWS client that escaped moto or the
embedded AWS is a refused connection and a failed run, not a silent call to AWS. Each benchmark
sets up its AWS before anything makes a client: moto in process (``mock_aws``) or the local
runtime's embedded AWS (``python -m infra.local``, loopback ports).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from infra.local import loopback_guard

# A fresh 48-character key per run (36 random bytes, URL-safe base64): signs benchmark tokens only.
BENCH_JWT_SECRET = secrets.token_urlsafe(36)

BENCH_ENV: Mapping[str, str] = {
    "ENVIRONMENT": "test",
    "JWT_SECRET": BENCH_JWT_SECRET,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # bench.rate_limit measures the limiter on its own; the other benchmarks leave it out.
    "RATE_LIMIT_ENABLED": "false",
    # bench.cache starts its own redis-server; the others measure without the cache (in process).
    "CACHE_BACKEND": "none",
    # Every process a benchmark starts (the local runtime, cold starts) refuses non-loopback too.
    loopback_guard.ENV_VAR: "1",
}

# Variables that would point the code at a live endpoint or change how the interpreter starts.
SCRUBBED = (
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
)
SCRUBBED_PREFIXES = ("AWS_ENDPOINT_URL_",)  # per-service endpoints (AWS_ENDPOINT_URL_DYNAMODB...)
# What `python -m infra.local` must not inherit: it sets its own AWS, signing keys and LiveKit.
LOCAL_RUNTIME_SCRUBBED_PREFIXES = ("AWS_", "JWT_", "LIVEKIT_", "MOTO_", "CACHE_", "REDIS_")


def _scrubbed(name: str) -> bool:
    return name in SCRUBBED or name.startswith(SCRUBBED_PREFIXES)


def guard_process() -> None:
    """Loopback only, in this process and (through the environment) in every process it starts."""
    loopback_guard.install()
    os.environ[loopback_guard.ENV_VAR] = "1"


def check_loopback_only(log_path: Path | None = None) -> None:
    """Fail the run if this process (or the runtime writing ``log_path``) tried to reach beyond
    loopback, even where the code swallowed the refusal (a fail-open path, a retry loop)."""
    refused = loopback_guard.refusals()
    if log_path is not None and log_path.exists():
        log = log_path.read_text(errors="replace").splitlines()
        refused += [line for line in log if loopback_guard.REFUSED in line]
    if refused:
        raise RuntimeError(f"a benchmark tried to reach beyond loopback ({len(refused)}x): {refused[0]}")


def apply_bench_environment() -> None:
    """Set the benchmark environment in this process (before any platform module is imported)."""
    guard_process()
    for name in [*os.environ]:
        if _scrubbed(name):
            del os.environ[name]
    os.environ.update(BENCH_ENV)


def subprocess_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of this process's environment with the benchmark settings, for fresh interpreters."""
    env = {name: value for name, value in os.environ.items() if not _scrubbed(name)}
    env.update(BENCH_ENV)
    if extra:
        env.update(extra)
    return env


def local_runtime_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a `python -m infra.local` a benchmark starts: nothing of this process's AWS,
    keys or LiveKit (the runtime points every client at its embedded AWS), loopback only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LOCAL_RUNTIME_SCRUBBED_PREFIXES)}
    env[loopback_guard.ENV_VAR] = "1"
    if extra:
        env.update(extra)
    return env


def load_average() -> str:
    """The 1/5/15-minute load average: a busy machine inflates every figure, so print it with them."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unavailable"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"
