"""A local stand-in for Deepgram's pre-recorded API (``POST /v1/listen``) on a free port.

It answers in Deepgram's real response shape (metadata; results.channels[].alternatives[] with
words carrying punctuated_word and speaker; results.utterances[]), checks the ``Authorization:
Token`` header like Deepgram (401 INVALID_AUTH), and can be told to answer the next requests with
an error status or to stall past the client's timeout.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

# (word, start, end, speaker): two speakers, the second after a pause.
DEFAULT_SCRIPT: tuple[tuple[str, float, float, int], ...] = (
    ("welcome", 0.32, 0.71, 0),
    ("to", 0.71, 0.85, 0),
    ("the", 0.85, 0.97, 0),
    ("algebra", 0.97, 1.52, 0),
    ("class", 1.52, 2.01, 0),
    ("thank", 2.9, 3.2, 1),
    ("you", 3.2, 3.4, 1),
    ("teacher", 3.4, 3.95, 1),
)

ERROR_BODIES = {
    400: {"err_code": "Bad Request", "err_msg": "Bad Request: failed to process audio: corrupt or unsupported data"},
    401: {"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."},
    402: {"err_code": "ASR_PAYMENT_REQUIRED", "err_msg": "Project does not have enough credits."},
    429: {"err_code": "TOO_MANY_REQUESTS", "err_msg": "Too many requests. Please try again later"},
    500: {"err_code": "INTERNAL_SERVER_ERROR", "err_msg": "Internal server error."},
    503: {"err_code": "SERVICE_UNAVAILABLE", "err_msg": "Service temporarily unavailable."},
}


def listen_response(
    script: tuple[tuple[str, float, float, int], ...] = DEFAULT_SCRIPT, *, model: str = "nova-3"
) -> dict[str, Any]:
    """A /v1/listen answer with diarize, smart_format and utterances, as Deepgram sends it."""
    model_uuid = str(uuid.uuid4())
    words = [
        {
            "word": word,
            "start": start,
            "end": end,
            "confidence": 0.99 - 0.01 * index,
            "punctuated_word": (word.capitalize() if index in (0, 5) else word) + ("." if index in (4, 7) else ""),
            "speaker": speaker,
            "speaker_confidence": 0.8,
        }
        for index, (word, start, end, speaker) in enumerate(script)
    ]
    utterances = []
    for speaker in sorted({w["speaker"] for w in words}):
        group = [w for w in words if w["speaker"] == speaker]
        utterances.append(
            {
                "start": group[0]["start"],
                "end": group[-1]["end"],
                "confidence": sum(w["confidence"] for w in group) / len(group),
                "channel": 0,
                "transcript": " ".join(w["punctuated_word"] for w in group),
                "words": group,
                "speaker": speaker,
                "id": str(uuid.uuid4()),
            }
        )
    return {
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": str(uuid.uuid4()),
            "sha256": "0" * 64,
            "created": "2030-01-01T16:00:00.000Z",
            "duration": (script[-1][2] + 0.5) if script else 0.0,
            "channels": 1,
            "models": [model_uuid],
            "model_info": {model_uuid: {"name": f"general-{model}", "version": "2024-12-20.0", "arch": model}},
        },
        "results": {
            "channels": [
                {
                    "alternatives": [
                        {
                            "transcript": " ".join(w["punctuated_word"] for w in words),
                            "confidence": 0.97,
                            "words": words,
                        }
                    ]
                }
            ],
            "utterances": utterances,
        },
    }


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    content_type: str | None
    body: bytes


@dataclass
class FakeDeepgram:
    url: str
    api_key: str
    requests: list[Received] = field(default_factory=list)
    # Statuses to answer the next requests with, in order ("stall" sleeps past the timeout).
    script: list[int | str] = field(default_factory=list)
    response: dict[str, Any] = field(default_factory=listen_response)
    stall_seconds: float = 3.0
    release: threading.Event = field(default_factory=threading.Event)


@contextmanager
def fake_deepgram(api_key: str = "test-deepgram-key") -> Iterator[FakeDeepgram]:
    state = FakeDeepgram(url="", api_key=api_key)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            parsed = urlparse(self.path)
            state.requests.append(
                Received(
                    parsed.path,
                    parse_qs(parsed.query),
                    self.headers.get("authorization"),
                    self.headers.get("content-type"),
                    body,
                )
            )
            action: int | str = state.script.pop(0) if state.script else 200
            if action == "stall":
                state.release.wait(state.stall_seconds)
                action = 200
            if parsed.path != "/v1/listen":
                self._send(404, {"err_code": "NOT_FOUND", "err_msg": "Not found."})
            elif self.headers.get("authorization") != f"Token {state.api_key}":
                self._send(401, ERROR_BODIES[401])
            elif action != 200:
                self._send(int(action), ERROR_BODIES[int(action)])
            else:
                self._send(200, state.response)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps({**payload, "request_id": str(uuid.uuid4())} if status != 200 else payload).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
