"""The local runtime's HTTP/1.1 server protocol: uvicorn's h11 protocol, but a request it cannot
parse (a request line or headers past h11's buffer, a malformed request) is answered in the
platform's error shape (414, 431 or 400 JSON) instead of uvicorn's plain-text 400, as API Gateway
answers such requests itself before any function runs.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from infra.local.gateway import MAX_REQUEST_LINE_BYTES, error_body

# How long a refused connection keeps draining the client's unread request before it closes.
LINGER_SECONDS = 5.0


class JsonErrorH11Protocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._protocol_error: h11.RemoteProtocolError | None = None
        self._discarding = False
        parse = self.conn.next_event

        def next_event() -> Any:
            # Keep the reason h11 refused the request: send_400_response only gets a message.
            try:
                return parse()
            except h11.RemoteProtocolError as exc:
                self._protocol_error = exc
                raise

        self.conn.next_event = next_event  # type: ignore[method-assign]

    def _refusal(self) -> tuple[int, str, str]:
        hint = self._protocol_error.error_status_hint if self._protocol_error is not None else 400
        if hint != 431:
            return 400, "invalid_request", "The request is not valid HTTP/1.1."
        received, _ = self.conn.trailing_data
        request_line = received.split(b"\r\n", 1)[0]
        if b"\r\n" not in received or len(request_line) > MAX_REQUEST_LINE_BYTES:
            return 414, "uri_too_long", f"The request URL is over {MAX_REQUEST_LINE_BYTES} bytes."
        return 431, "request_headers_too_large", "The request headers are too large (an oversized token or cookie?)."

    def send_400_response(self, msg: str) -> None:
        status, code, message = self._refusal()
        body = json.dumps(error_body(code, message)).encode()
        # h11's own state is ERROR by now: write the response by hand, then close.
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        ).encode()
        self.transport.write(head + body)
        # Closing now, with the rest of a large request unread, would reset the connection and the
        # client would never read the answer: half-close, discard what still comes, then close.
        self._discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        super().data_received(data)
