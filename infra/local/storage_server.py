"""The local runtime's answer to S3's signed URLs (``STORAGE_BACKEND=local``): ``/_storage/<bucket>/<key>``.

GET/HEAD (with a single ``Range``) download and PUT uploads, each only with a valid, unexpired
signature from ``LocalObjectStore.signed_get_url``/``signed_put_url``: a bad or expired signature
is 403, a missing object 404, always in the platform's error shape.
"""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import anyio
from agents_meetings.errors import DomainError
from agents_meetings.settings import get_settings
from agents_meetings.storage import (
    CONTENT_TYPE_PARAM,
    EXPIRES_PARAM,
    FILENAME_PARAM,
    SIGNATURE_PARAM,
    LocalObjectStore,
    local_signing_key,
    signature_valid,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

STORAGE_PREFIX = "/_storage/"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_CHUNK = 256 * 1024
_SPOOL_BYTES = 8 * 1024 * 1024  # larger uploads spill to disk while they arrive


def _error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}, "request_id": str(uuid.uuid4())}}
    return JSONResponse(body, status_code=status)


class LocalStorageServer:
    """ASGI app for the paths under ``/_storage/``; the local gateway hands it those requests."""

    def owns(self, scope: dict[str, Any]) -> bool:
        return scope["type"] == "http" and str(scope.get("path", "")).startswith(STORAGE_PREFIX)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        try:
            response = await self._answer(request)
        except DomainError as exc:
            response = _error(exc.status_code, exc.code, exc.message, exc.details)
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        method = request.method
        if method not in ("GET", "HEAD", "PUT"):
            response = _error(405, "method_not_allowed", f"{method} is not allowed on stored objects.")
            response.headers["Allow"] = "GET, HEAD, PUT"
            return response
        # The raw path, decoded once: the decoded ``path`` would turn a key's own "%41" into "A".
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        bucket, _, raw_key = raw_path.decode("latin-1").split("?", 1)[0][len(STORAGE_PREFIX) :].partition("/")
        key = unquote(raw_key)
        query = request.query_params
        try:
            expires = int(query.get(EXPIRES_PARAM, ""))
        except ValueError:
            return _error(403, "signature_invalid", "The URL is not signed.")
        signed_method = "PUT" if method == "PUT" else "GET"
        extra = query.get(CONTENT_TYPE_PARAM, "") if method == "PUT" else query.get(FILENAME_PARAM, "")
        secret = local_signing_key(get_settings())
        if not signature_valid(secret, signed_method, bucket, key, expires, query.get(SIGNATURE_PARAM, ""), extra):
            return _error(403, "signature_invalid", "The URL's signature does not match.")
        if expires < time.time():
            return _error(403, "url_expired", "The signed URL has expired.", {"expired_at": expires})
        store = LocalObjectStore(bucket=bucket)
        if method == "PUT":
            return await self._put(request, store, key, extra)
        return await anyio.to_thread.run_sync(self._get, request, store, key, query.get(FILENAME_PARAM))

    async def _put(self, request: Request, store: LocalObjectStore, key: str, content_type: str) -> Response:
        sent_type = request.headers.get("content-type", "")
        if sent_type.split(";")[0].strip().lower() != content_type.split(";")[0].strip().lower():
            # S3 refuses a presigned PUT whose signed Content-Type differs: the signature covers it.
            return _error(
                403, "signature_invalid", "The upload's Content-Type is not the signed one.", {"signed": content_type}
            )
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as body:
            async for chunk in request.stream():
                body.write(chunk)
            body.seek(0)
            stored = await anyio.to_thread.run_sync(lambda: store.put_stream(key, body, content_type=content_type))  # type: ignore[arg-type]
        meta = store.metadata(key) or {}
        return Response(
            status_code=200, headers={"ETag": f'"{meta.get("etag") or ""}"', "x-object-size": str(stored.size)}
        )

    def _get(self, request: Request, store: LocalObjectStore, key: str, filename: str | None) -> Response:
        meta = store.metadata(key)
        if meta is None:
            return _error(404, "object_not_found", "Stored file not found.", {"key": key})
        size = int(meta["size"])
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Type": meta.get("content_type") or "application/octet-stream",
            "x-amz-storage-class": str(meta.get("storage_class") or "STANDARD"),
        }
        if meta.get("etag"):
            headers["ETag"] = f'"{meta["etag"]}"'
        if filename:
            headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        start, end, status = 0, size - 1, 200
        wanted = request.headers.get("range")
        if wanted:
            parsed = _byte_range(wanted, size)
            if parsed is None:
                refused = _error(
                    416, "range_not_satisfiable", "The requested range is outside the object.", {"size": size}
                )
                refused.headers["Content-Range"] = f"bytes */{size}"
                return refused
            start, end = parsed
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(max(end - start + 1, 0))
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers)
        path = store.object_path(key)
        # Open now: a delete that lands while the body streams cannot cut it short.
        handle = path.open("rb")
        return StreamingResponse(_read(handle, start, end), status_code=status, headers=headers)


async def _read(handle: Any, start: int, end: int) -> AsyncIterator[bytes]:
    try:
        handle.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = await anyio.to_thread.run_sync(handle.read, min(_CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) of one ``bytes=a-b`` / ``a-`` / ``-n`` range, None if unsatisfiable. Several
    ranges are answered with the first, as S3 does."""
    found = _RANGE.fullmatch(header.strip().split(",")[0].strip())
    if found is None or size == 0:
        return None
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start > end or start >= size:
        return None
    return start, end
