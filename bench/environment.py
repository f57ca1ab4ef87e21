"""The environment every benchmark runs the platform's code under: offline, quiet, no AWS endpoint."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping

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
}

# Variables that would point the code at a live endpoint or change how the interpreter starts.
SCRUBBED = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "PYTHONPROFILEIMPORTTIME", "PYTHONSTARTUP", "PYTHONINSPECT")


def apply_bench_environment() -> None:
    """Set the benchmark environment in this process (before any platform module is imported)."""
    for name in SCRUBBED:
        os.environ.pop(name, None)
    os.environ.update(BENCH_ENV)


def subprocess_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of this process's environment with the benchmark settings, for fresh interpreters."""
    env = {name: value for name, value in os.environ.items() if name not in SCRUBBED}
    env.update(BENCH_ENV)
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
