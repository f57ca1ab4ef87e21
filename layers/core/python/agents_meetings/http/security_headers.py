"""Security headers on every HTTP response, errors included (spec 3.1 "Security headers").

The API serves JSON, so its Content-Security-Policy forbids everything. Only the documentation
pages (Swagger UI and ReDoc, which FastAPI loads from cdn.jsdelivr.net) get a policy that lets
their scripts, styles and images load.

X-XSS-Protection is "0": the spec asks for the header, and current guidance (OWASP, MDN) is to
disable the legacy browser XSS auditor, which was removed from modern browsers and whose
"1; mode=block" could itself be abused to blank or probe pages. The CSP is the real protection.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
    "style-src 'self' https://cdn.jsdelivr.net https://fonts.googleapis.com 'unsafe-inline'; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; "
    "connect-src 'self'; "
    "worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = frozenset(
    {"/docs", "/redoc", "/api/docs", "/api/redoc", "/docs/oauth2-redirect", "/api/docs/oauth2-redirect"}
)

COMMON_HEADERS: Mapping[str, str] = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-XSS-Protection": "0",
    "Referrer-Policy": "no-referrer",
}


def security_headers(path: str) -> dict[str, str]:
    """The headers for a response to ``path`` (also used by error_response: a 500 is answered
    by Starlette's ServerErrorMiddleware, outside every other middleware)."""
    if path in DOCS_PATHS:
        return {**COMMON_HEADERS, "Content-Security-Policy": DOCS_CSP}
    # API answers are per-user JSON: never cached by browsers or shared caches.
    return {**COMMON_HEADERS, "Content-Security-Policy": API_CSP, "Cache-Control": "no-store"}


class SecurityHeadersMiddleware:
    """Plain ASGI (no per-request task), outermost of the app's own middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers_for_path = security_headers(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in headers_for_path.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
