"""A request's full path is one query: the API's request id is the correlation id of its log line,
of the event it publishes, of the notify worker that handles it (bus -> queue -> worker), and of
the email worker behind the queue that worker feeds."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform, start_platform, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def logging_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    base = tmp_path_factory.mktemp("correlated")
    running = start_platform(base / "data", base / "runtime.log", {"POWERTOOLS_LOG_LEVEL": "INFO"})
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
    # And no other request's lines carry it.
    others = [line for line in json_lines(logging_platform.log_path) if line.get("message") == "request"]
    assert sum(1 for line in others if line.get("correlation_id") == request_id) == 1
