"""Observability through the local runtime (issue 16).

A request's full path is one query: the API's request id is the correlation id of its log line, of
the event it publishes, of the notify worker that handles it (bus -> queue -> worker), and of the
email worker behind the queue that worker feeds. ``GET /metrics`` serves the functions' EMF
metrics in Prometheus text, under the names they emit."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local import logs
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform, start_platform, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def logging_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    base = tmp_path_factory.mktemp("correlated")
    env = {"POWERTOOLS_LOG_LEVEL": "INFO", "LOCAL_LOG_FILE": str(base / "json.log")}
    running = start_platform(base / "data", base / "runtime.log", env)
    yield running
    running.stop()


def json_lines(path: Path) -> list[dict[str, Any]]:
    found = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return found


def test_one_request_id_is_in_every_log_line_of_its_path(logging_platform: RunningPlatform) -> None:
    with logging_platform.client() as api:
        token = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
        email = f"traced-{uuid.uuid4().hex[:8]}@example.com"
        registered = api.post(
            "/api/v1/auth/register", json={"email": email, "password": "Traced-Passw0rd-123!", "full_name": "Tracy"}
        )
        assert registered.status_code == 201, registered.text
        approved = api.post(f"/api/v1/admin/users/{registered.json()['id']}/approve", headers=admin)
        assert approved.status_code == 200, approved.text
    request_id = approved.headers["X-Request-Id"]

    def path_of_request() -> list[dict[str, Any]] | None:
        lines = [line for line in json_lines(logging_platform.log_path) if line.get("correlation_id") == request_id]
        messages = {line["message"] for line in lines}
        # The API's access line, the notify worker's (from the bus), the email worker's (from SQS).
        return lines if {"request", "notified", "notification email"} <= messages else None

    lines = wait_for(path_of_request, timeout=30)
    access = next(line for line in lines if line["message"] == "request")
    assert access["status"] == 200 and access["method"] == "POST"
    notified = next(line for line in lines if line["message"] == "notified")
    assert notified["detail_type"] == "UserApproved"
    emailed = next(line for line in lines if line["message"] == "notification email")
    assert emailed["status"] == "sent"
    # `make logs ID=...` finds the same path in the runtime's LOCAL_LOG_FILE.
    shown = io.StringIO()
    assert (
        logs.run(["--id", request_id, "--json", str(logging_platform.data_dir.parent / "json.log")], stdout=shown) == 0
    )
    assert {"request", "notified", "notification email"} <= {
        json.loads(x)["message"] for x in shown.getvalue().splitlines()
    }
    # And no other request's lines carry it.
    others = [line for line in json_lines(logging_platform.log_path) if line.get("message") == "request"]
    assert sum(1 for line in others if line.get("correlation_id") == request_id) == 1


def scrape(api: Any) -> dict[str, float]:
    """``GET /metrics`` as {series (name and labels, as written): value}."""
    response = api.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    series = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    return series


def total(series: dict[str, float], name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    found = 0.0
    for key, value in series.items():
        metric, _, rest = key.partition("{")
        pairs = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest))
        if metric == name and all(pairs.get(k) == v for k, v in labels.items()):
            found += value
    return found


def test_metrics_counts_requests_latency_per_route_and_business_events(logging_platform: RunningPlatform) -> None:
    with logging_platform.client() as api:
        before = scrape(api)
        for _ in range(3):
            assert api.get("/api/v1/health").status_code == 200
        missing = api.get(f"/api/v1/meetings/{uuid.uuid4()}")
        assert missing.status_code == 401
        token = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
        email = f"metered-{uuid.uuid4().hex[:8]}@example.com"
        user_id = api.post(
            "/api/v1/auth/register", json={"email": email, "password": "Metered-Passw0rd-123!", "full_name": "Meg"}
        ).json()["id"]
        assert api.post(f"/api/v1/admin/users/{user_id}/approve", headers=admin).status_code == 200

        def emailed() -> dict[str, float] | None:
            now = scrape(api)
            sent = total(now, "NotificationEmailSent") - total(before, "NotificationEmailSent")
            return now if sent >= 1 else None

        after = wait_for(emailed, timeout=30)

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    # Every request counted (the scrapes themselves are not function invocations).
    assert grew("ApiRequests") == 7
    # Latency per route: a histogram whose count per route and status class is its request rate.
    assert grew("ApiLatency_count", route="GET /api/v1/health", status_class="2xx") == 3
    assert grew("ApiLatency_bucket", route="GET /api/v1/health", status_class="2xx", le="+Inf") == 3
    assert grew("ApiLatency_count", route="POST /api/v1/auth/register", status_class="2xx") == 1
    assert grew("ApiLatency_count", status_class="4xx") == 1
    assert grew("ApiLatency_sum", route="GET /api/v1/health") > 0
    # A business metric, from a worker two hops behind the request.
    assert grew("NotificationEmailSent") == 1
    text = logging_platform.client().get("/metrics").text
    assert "# TYPE ApiRequests counter" in text and "# TYPE ApiLatency histogram" in text
    # The EMF went to /metrics, not into the log.
    assert not any("_aws" in line for line in json_lines(logging_platform.log_path))
