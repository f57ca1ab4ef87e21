"""The Synthetics health canary's script (infra/canary/python/health_canary.py) against a real HTTP
server on loopback: it passes on the health document the API serves when healthy, and fails, with
the reason, on a 503, a degraded or partial document, non-JSON, and no answer at all."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import pytest
from agents_meetings import __version__
from agents_meetings.http.schemas.health import HealthOut

from infra.constructs.health import CANARY_DIR, CANARY_HANDLER, HEALTH_PATH

SCRIPT = CANARY_DIR / "python" / f"{CANARY_HANDLER.split('.')[0]}.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("health_canary", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


canary = _load()


def _document(status: str = "ok", checks: dict[str, str] | None = None) -> dict[str, Any]:
    # The API's own response model, so a change to it shows up here.
    return HealthOut(
        status=status, version=__version__, checks=checks or {"database": "ok"}, latency_ms=1.5
    ).model_dump()


class _Server:
    def __init__(self) -> None:
        self.reply: tuple[int, str, bytes] = (200, "application/json", json.dumps(_document()).encode())
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.paths.append(self.path)
                status, content_type, body = outer.reply
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{HEALTH_PATH}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[_Server]:
    running = _Server()
    yield running
    running.close()


def test_a_healthy_answer_passes_and_the_handler_reads_the_url_from_the_environment(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert canary.check(server.url)["status"] == "ok"
    monkeypatch.setenv("HEALTH_URL", server.url)
    assert canary.handler({}, None)["checks"] == {"database": "ok"}
    assert server.paths == [HEALTH_PATH, HEALTH_PATH]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ((503, "application/json", json.dumps(_document("degraded", {"database": "unavailable"})).encode()), "503"),
        (
            (200, "application/json", json.dumps(_document("degraded", {"database": "unavailable"})).encode()),
            "degraded",
        ),
        ((200, "application/json", json.dumps({**_document(), "checks": {"database": "slow"}}).encode()), "database"),
        ((200, "application/json", json.dumps({**_document(), "checks": {}}).encode()), "no dependency checks"),
        ((200, "text/html", b"<html>gateway</html>"), "not JSON"),
        ((200, "application/json", b"{not json"), "invalid JSON"),
        ((502, "application/json", b'{"message": "Internal server error"}'), "502"),
    ],
    ids=["503", "degraded", "check-not-ok", "no-checks", "html", "bad-json", "gateway-502"],
)
def test_anything_but_healthy_fails_the_run_with_the_reason(
    server: _Server, reply: tuple[int, str, bytes], reason: str
) -> None:
    server.reply = reply
    with pytest.raises(canary.CanaryFailure, match=reason):
        canary.check(server.url)


def test_no_answer_fails_the_run(server: _Server) -> None:
    url = server.url
    server.close()
    with pytest.raises(canary.CanaryFailure, match="failed"):
        canary.check(url, timeout=2)
