"""The local API Gateway serves many requests at once: requests that wait (SSE long-polls) never
block the others, as Lambda scales out one container per concurrent request."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import httpx
import pytest

from infra.local.functions import FunctionRegistry
from infra.local.gateway import LocalApiGateway

pytestmark = pytest.mark.integration

LONG_POLLS = 60  # more than anyio's default pool of 40 worker threads
# Only a safety net so that a broken gateway fails the test instead of hanging it: a long-poll
# normally ends as soon as the health check has answered.
GIVE_UP_SECONDS = 15


def test_health_answers_while_sixty_long_polls_are_waiting() -> None:
    health_answered = threading.Event()
    waiting = 0
    counter = threading.Lock()

    def long_poll(event: dict[str, Any], context: Any) -> dict[str, Any]:
        """``GET /notifications/stream`` holding its worker until there is news (here: health)."""
        nonlocal waiting
        with counter:
            waiting += 1
        health_answered.wait(GIVE_UP_SECONDS)
        return {"statusCode": 200, "headers": {"content-type": "text/event-stream"}, "body": "retry: 1000\n\n"}

    def health(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"status":"ok"}'}

    registry = FunctionRegistry()
    registry.register("notifications", long_poll)
    registry.register("health", health)
    transport = httpx.ASGITransport(app=LocalApiGateway(registry))
    order: list[str] = []

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://local", timeout=60) as client:

            async def poll() -> None:
                response = await client.get("/api/v1/notifications/stream", headers={"Last-Event-ID": "x"})
                assert response.status_code == 200
                order.append("long-poll")

            async with anyio.create_task_group() as group:
                for _ in range(LONG_POLLS):
                    group.start_soon(poll)
                # Every long-poll has reached its function (or the pool is full and they queue).
                with anyio.move_on_after(5):
                    while waiting < LONG_POLLS:
                        await anyio.sleep(0.01)
                response = await client.get("/api/v1/health")
                assert response.status_code == 200, response.text
                order.append("health")
                health_answered.set()

    anyio.run(scenario)
    assert waiting == LONG_POLLS
    assert order[0] == "health", f"health answered only after {order.index('health')} long-polls had ended"
    assert order.count("long-poll") == LONG_POLLS
