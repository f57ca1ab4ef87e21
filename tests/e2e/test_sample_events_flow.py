"""Every function answers its sample event (events/<function>/*.json) through the local runtime's
invoker, as `sam local invoke` would run it: each sample goes to the embedded Lambda API
(`lambda.invoke` on LOCAL_AWS_PORT), which runs the function inside the running platform.

The samples are the real shapes (API Gateway REST and WebSocket, SQS from each rule, schedules,
AWS Backup, Step Functions task input, the LiveKit webhook). What only a live platform knows (a
token, a meeting id, a single-use ticket) is written ``{{NAME}}`` in them and filled in here."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from livekit.api.access_token import AccessToken

from infra.catalog import EVENT_RULES, FUNCTIONS, REPO_ROOT
from infra.local.invoke import fill, invoke
from infra.local.runtime import free_port
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform, record_until_settled, start_platform

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EVENTS = REPO_ROOT / "events"


def samples_of(function: str) -> list[Path]:
    return sorted((EVENTS / function).glob("*.json"))


def test_every_function_and_every_rule_has_a_sample_event() -> None:
    missing = [decl.name for decl in FUNCTIONS if not samples_of(decl.name)]
    assert not missing, f"add a sample event under events/<function>/ for: {missing}"
    for rule in EVENT_RULES:
        kinds = set()
        for sample in samples_of(rule.target):
            for record in json.loads(sample.read_text()).get("Records", []):
                kinds.add(json.loads(record["body"]).get("detail-type"))
        assert kinds & {kind.value for kind in rule.detail_types}, f"no SQS sample of rule {rule.name}"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningPlatform, int]]:
    base = tmp_path_factory.mktemp("sample-events")
    aws_port = free_port()
    platform = start_platform(base / "data", base / "runtime.log", {"LOCAL_AWS_PORT": str(aws_port)})
    try:
        yield platform, aws_port
    finally:
        platform.stop()  # and no client of it tried to leave loopback


@pytest.fixture(scope="module")
def values(running: tuple[RunningPlatform, int]) -> dict[str, str]:
    """The live values the samples name: the seeded admin, a meeting with a completed recording, a
    notification, the recordings bucket."""
    platform, _ = running
    with platform.client() as api:
        login = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        me = api.get("/api/v1/users/me", headers=headers).json()
        meeting = api.post(
            "/api/v1/meetings",
            json={"title": "Sample events standup", "scheduled_at": "2030-01-01T10:00:00Z"},
            headers=headers,
        )
        assert meeting.status_code == 201, meeting.text
        meeting_id = meeting.json()["id"]
        recording = record_until_settled(platform, api, headers, meeting_id)
        announced = api.post(
            "/api/v1/admin/announcements", json={"title": "Sample", "message": "A sample event run."}, headers=headers
        )
        assert announced.status_code == 202, announced.text
        notification_id = _first_notification(api, headers)
        secrets = json.loads((platform.data_dir / "secrets.json").read_text())
        return {
            "ACCESS_TOKEN": token,
            "ADMIN_EMAIL": ADMIN_EMAIL,
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "USER_ID": me["id"],
            "MEETING_ID": meeting_id,
            "RECORDING_ID": recording["id"],
            "MANIFEST_KEY": f"recordings/{recording['id']}/manifest.json",
            "RECORDINGS_BUCKET": "recordings",
            "NOTIFICATION_ID": notification_id,
            "CONNECTION_ID": f"sample-{uuid.uuid4().hex[:12]}",
            "RESTORE_JOB_ID": str(uuid.uuid4()),
            "LIVEKIT_SECRET": secrets["LIVEKIT_API_SECRET"],
        }


def _first_notification(api: httpx.Client, headers: dict[str, str]) -> str:
    from tests.e2e.conftest import wait_for

    def listed() -> str | None:
        items = api.get("/api/v1/notifications", headers=headers).json().get("items") or []
        return str(items[0]["id"]) if items else None

    return str(wait_for(listed, timeout=30))


def fill_sample(text: str, values: dict[str, str], api: httpx.Client) -> dict[str, Any]:
    if "{{WS_TICKET}}" in text:  # single use: one per sample that needs it
        headers = {"Authorization": f"Bearer {values['ACCESS_TOKEN']}"}
        ticket = api.post("/api/v1/notifications/ws-ticket", headers=headers)
        assert ticket.status_code in (200, 201), ticket.text
        values = {**values, "WS_TICKET": ticket.json()["ticket"]}
    event = fill(text, {**values, "LIVEKIT_AUTHORIZATION": "pending"})
    if "{{LIVEKIT_AUTHORIZATION}}" in text:  # LiveKit signs the body's SHA-256 with the API secret
        digest = base64.b64encode(hashlib.sha256(event["body"].encode()).digest()).decode()
        token = AccessToken("agents-meetings-local", values["LIVEKIT_SECRET"]).with_sha256(digest).to_jwt()
        for headers in (event["headers"], event["multiValueHeaders"]):
            headers["authorization"] = token if headers is event["headers"] else [token]
    return event


# Functions whose work is an AWS service the embedded AWS does not emulate: the sample must reach
# that call (the event parsed, the handler ran), and nothing else may fail.
CLOUD_ONLY = {"restore-validation": "DescribeRestoreJob"}  # AWS Backup's restore-testing API


def invoke_sample(aws_port: int, function: str, event: dict[str, Any]) -> dict[str, Any]:
    payload, error = invoke(f"http://127.0.0.1:{aws_port}", function, event)
    if function in CLOUD_ONLY:
        assert error and CLOUD_ONLY[function] in payload["errorMessage"], payload
        return {}
    assert error is None, f"{function} failed: {payload}"
    assert isinstance(payload, dict), payload
    return payload


def succeeded(kind: str, sample: Path, result: dict[str, Any]) -> bool:
    if kind in ("api", "websocket"):
        return 200 <= int(result["statusCode"]) < 300
    if kind == "worker":
        return result.get("batchItemFailures") == []
    if kind == "pipeline":  # the recording is completed: claim says there is nothing left to do
        return result.get("proceed") is False and result.get("reason") == "already_completed"
    return True  # a job: it ran and reported


@pytest.mark.parametrize(
    ("function", "sample"),
    [(decl.name, path) for decl in FUNCTIONS for path in samples_of(decl.name)],
    ids=lambda value: value.name if isinstance(value, Path) else str(value),
)
def test_function_answers_its_sample_event_through_the_local_invoker(
    function: str, sample: Path, running: tuple[RunningPlatform, int], values: dict[str, str]
) -> None:
    platform, aws_port = running
    kind = next(decl.kind for decl in FUNCTIONS if decl.name == function)
    with platform.client() as api:
        event = fill_sample(sample.read_text(), values, api)
    result = invoke_sample(aws_port, function, event)
    assert succeeded(kind, sample, result), (sample.name, result)
