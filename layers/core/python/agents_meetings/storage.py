"""Object storage behind one small port: S3 in the cloud (and MinIO through an endpoint URL), or a
local directory (``STORAGE_BACKEND=local``) whose signed URLs the local runtime serves.

``STORAGE_BACKEND`` picks the backend (spec 1.1). Recording files, transcripts, thumbnails and
uploaded materials all go through ``ObjectStore``; nothing else calls the S3 API for them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote, urlencode

from agents_meetings.aws_clients import aws_client
from agents_meetings.errors import Conflict, InvalidRequest, NotFound
from agents_meetings.settings import Settings, get_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    content_type: str | None
    storage_class: str


class ObjectStore(Protocol):
    bucket: str

    def put_bytes(self, key: str, body: bytes, *, content_type: str | None = None) -> StoredObject: ...
    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> StoredObject: ...
    def put_stream(self, key: str, stream: BinaryIO, *, content_type: str | None = None) -> StoredObject: ...
    def get_bytes(self, key: str) -> bytes: ...
    def download_to(self, key: str, path: Path) -> Path: ...
    def head(self, key: str) -> StoredObject | None: ...
    def list(self, prefix: str) -> list[StoredObject]: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def set_storage_class(self, key: str, storage_class: str) -> None: ...
    def signed_get_url(self, key: str, *, ttl_seconds: int | None = None, filename: str | None = None) -> str: ...
    def signed_put_url(self, key: str, *, content_type: str, ttl_seconds: int | None = None) -> str: ...


class S3ObjectStore:
    """S3 (or an S3-compatible store such as MinIO) through boto3, server-side encrypted."""

    def __init__(self, settings: Settings | None = None, client: Any | None = None, bucket: str | None = None):
        self._settings = settings or get_settings()
        self.bucket = bucket or self._settings.s3_bucket_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            settings = self._settings
            endpoint = settings.s3_endpoint_url or settings.aws_endpoint_url
            self._client = aws_client(
                "s3",
                settings=settings,
                region=settings.s3_region,
                endpoint_url=endpoint,
                config={
                    "signature_version": "s3v4",
                    "retries": {"max_attempts": 5, "mode": "adaptive"},
                    "s3": {"addressing_style": "path" if endpoint else "auto"},
                },
            )
        return self._client

    def _extra(self, content_type: str | None) -> dict[str, Any]:
        extra: dict[str, Any] = {"ServerSideEncryption": "AES256"}
        if content_type:
            extra["ContentType"] = content_type
        return extra

    def put_bytes(self, key: str, body: bytes, *, content_type: str | None = None) -> StoredObject:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **self._extra(content_type))
        return StoredObject(key, len(body), content_type, "STANDARD")

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> StoredObject:
        # upload_file switches to a retried multipart upload for large files.
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=self._extra(content_type))
        return StoredObject(key, path.stat().st_size, content_type, "STANDARD")

    def put_stream(self, key: str, stream: BinaryIO, *, content_type: str | None = None) -> StoredObject:
        self.client.upload_fileobj(stream, self.bucket, key, ExtraArgs=self._extra(content_type))
        stored = self.head(key)
        assert stored is not None
        return stored

    def get_bytes(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey as exc:
            raise NotFound("Stored file not found.", code="object_not_found") from exc
        body: bytes = response["Body"].read()
        return body

    def download_to(self, key: str, path: Path) -> Path:
        if self.head(key) is None:
            raise NotFound("Stored file not found.", code="object_not_found")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.client.download_file(self.bucket, key, str(path))
        return path

    def head(self, key: str) -> StoredObject | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return StoredObject(
            key, int(response["ContentLength"]), response.get("ContentType"), response.get("StorageClass", "STANDARD")
        )

    def list(self, prefix: str) -> list[StoredObject]:
        objects = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                objects.append(StoredObject(item["Key"], int(item["Size"]), None, item.get("StorageClass", "STANDARD")))
        return objects

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> int:
        keys = [item.key for item in self.list(prefix)]
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True}
            )
        return len(keys)

    def set_storage_class(self, key: str, storage_class: str) -> None:
        """Move an object to another tier (STANDARD_IA, GLACIER_IR, ...) by copying it onto itself."""
        self.client.copy_object(
            Bucket=self.bucket,
            Key=key,
            CopySource={"Bucket": self.bucket, "Key": key},
            StorageClass=storage_class,
            MetadataDirective="COPY",
            ServerSideEncryption="AES256",
        )

    def signed_get_url(self, key: str, *, ttl_seconds: int | None = None, filename: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        url: str = self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=ttl_seconds or self._settings.signed_url_ttl_seconds
        )
        return url

    def signed_put_url(self, key: str, *, content_type: str, ttl_seconds: int | None = None) -> str:
        url: str = self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=ttl_seconds or self._settings.signed_url_ttl_seconds,
        )
        return url


# --- the local directory backend ------------------------------------------------------------

# S3's storage classes; locally a class is a metadata field (tiering is bookkeeping, not movement).
STORAGE_CLASSES = frozenset(
    {"STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"}
)
MAX_KEY_BYTES = 1024  # S3's limit
_CHUNK = 1024 * 1024
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Query parameters of a local signed URL.
EXPIRES_PARAM, SIGNATURE_PARAM, FILENAME_PARAM, CONTENT_TYPE_PARAM = "expires", "signature", "filename", "content-type"


def validate_key(key: str) -> str:
    """A key that names a file under its bucket's directory and nothing else (no traversal)."""
    if not key or len(key.encode()) > MAX_KEY_BYTES:
        raise InvalidRequest("An object key must be 1 to 1024 bytes long.", code="invalid_object_key")
    segments = key.split("/")
    if (
        key.startswith("/")
        or "\\" in key
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in key)
        or any(segment in ("", ".", "..") for segment in segments)
    ):
        raise InvalidRequest(
            "An object key may not be absolute, hold empty, '.' or '..' segments, backslashes or control characters.",
            code="invalid_object_key",
            details={"key": key[:200]},
        )
    return key


def validate_bucket(bucket: str) -> str:
    """S3's bucket-name rules, which also keep a bucket one plain directory name."""
    if not _BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        raise InvalidRequest(
            "A bucket name is 3-63 lowercase letters, digits, '.' and '-', starting with a letter or digit.",
            code="invalid_bucket",
        )
    return bucket


def signature_payload(method: str, bucket: str, key: str, expires: int, extra: str = "") -> bytes:
    """What a local signed URL's HMAC covers: method, bucket, key, expiry and the signed header
    (content type of a PUT, download file name of a GET)."""
    return "\n".join([method.upper(), bucket, key, str(expires), extra]).encode()


def sign(secret: bytes, method: str, bucket: str, key: str, expires: int, extra: str = "") -> str:
    return hmac.new(secret, signature_payload(method, bucket, key, expires, extra), hashlib.sha256).hexdigest()


def signature_valid(
    secret: bytes, method: str, bucket: str, key: str, expires: int, signature: str, extra: str = ""
) -> bool:
    return hmac.compare_digest(sign(secret, method, bucket, key, expires, extra), signature)


def local_signing_key(settings: Settings) -> bytes:
    if settings.local_storage_signing_key is None:
        raise ValueError("STORAGE_BACKEND=local needs LOCAL_STORAGE_SIGNING_KEY to sign URLs")
    return settings.local_storage_signing_key.get_secret_value().encode()


class LocalObjectStore:
    """Objects as files under ``LOCAL_STORAGE_DIR/<bucket>/<key>``, their metadata (content type,
    storage class, size, sha256, etag) as JSON under ``LOCAL_STORAGE_DIR/.meta/<bucket>/<key>.json``.

    Every write goes to a temporary file in the same file system, is fsynced, then renamed over
    the object (``os.replace``) and the directory fsynced: once a put returns, the object survives
    ``kill -9`` and power loss, and a reader never sees half an object. Signed URLs are HMAC-SHA256
    over method, bucket, key and expiry (``LOCAL_STORAGE_SIGNING_KEY``), served by the local runtime
    under ``LOCAL_STORAGE_URL`` (infra/local/storage_server.py)."""

    def __init__(self, settings: Settings | None = None, bucket: str | None = None, root: Path | None = None):
        self._settings = settings or get_settings()
        self.bucket = validate_bucket(bucket or self._settings.s3_bucket_name)
        self.root = Path(root or self._settings.local_storage_dir).resolve()
        self._objects = self.root / self.bucket
        self._meta = self.root / ".meta" / self.bucket
        self._scratch = self.root / ".tmp"
        self._lock_path = self.root / ".locks" / f"{self.bucket}.lock"

    # --- paths ------------------------------------------------------------------------------------

    def object_path(self, key: str) -> Path:
        path = self._objects.joinpath(*validate_key(key).split("/"))
        # Belt and braces: symlinks or anything else must not lead outside the bucket.
        if not path.resolve().is_relative_to(self._objects.resolve()):
            raise InvalidRequest("The object key leads outside its bucket.", code="invalid_object_key")
        return path

    def _meta_path(self, key: str) -> Path:
        return self._meta.joinpath(*validate_key(key).split("/")).with_name(key.rsplit("/", 1)[-1] + ".json")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time renames an object and its metadata (across processes too)."""
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- writes -----------------------------------------------------------------------------------

    def put_bytes(self, key: str, body: bytes, *, content_type: str | None = None) -> StoredObject:
        return self._put(key, lambda out: out.write(body), content_type=content_type)

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> StoredObject:
        with path.open("rb") as source:
            return self._put(key, lambda out: shutil.copyfileobj(source, out, _CHUNK), content_type=content_type)

    def put_stream(self, key: str, stream: BinaryIO, *, content_type: str | None = None) -> StoredObject:
        return self._put(key, lambda out: shutil.copyfileobj(stream, out, _CHUNK), content_type=content_type)

    def _put(self, key: str, write: Any, *, content_type: str | None, storage_class: str = "STANDARD") -> StoredObject:
        target = self.object_path(key)
        self._scratch.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=self._scratch, prefix="put-")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                hashing = _HashingWriter(out)
                write(hashing)
                out.flush()
                os.fsync(out.fileno())
            meta: dict[str, Any] = {
                "key": key,
                "size": hashing.size,
                "content_type": content_type,
                "storage_class": storage_class,
                "sha256": hashing.sha256.hexdigest(),
                "etag": hashing.md5.hexdigest(),
                "last_modified": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
            with self._locked():
                self._make_parent(target)
                os.replace(temp, target)
                _fsync_dir(target.parent)
                self._write_meta(key, meta)
        except NotADirectoryError as exc:
            raise Conflict("An object key runs through another object's key.", code="object_key_conflict") from exc
        finally:
            temp.unlink(missing_ok=True)
        if self._settings.local_storage_events:
            self._announce_created(key, meta)
        return StoredObject(key, int(meta["size"]), content_type, storage_class)

    def _announce_created(self, key: str, meta: dict[str, Any]) -> None:
        """S3's EventBridge notification ("Object Created" on the default bus), so what S3 objects
        start (the recording pipeline) starts the same way. After the rename: a failed publish
        raises, and the caller's retry rewrites the object and publishes again."""
        client = aws_client("events", settings=self._settings)
        detail = {
            "version": "0",
            "bucket": {"name": self.bucket},
            "object": {"key": key, "size": meta["size"], "etag": meta["etag"]},
            "reason": "PutObject",
        }
        response = client.put_events(
            Entries=[
                {
                    "Source": "aws.s3",
                    "DetailType": "Object Created",
                    "Resources": [f"arn:aws:s3:::{self.bucket}"],
                    "Detail": json.dumps(detail),
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"could not announce the creation of {key}: {response['Entries']}")

    def _make_parent(self, target: Path) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise Conflict("An object key runs through another object's key.", code="object_key_conflict") from exc
        if target.is_dir():
            raise Conflict("An object key is the prefix of other objects' keys.", code="object_key_conflict")

    def _write_meta(self, key: str, meta: dict[str, Any]) -> None:
        path = self._meta_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=self._scratch, prefix="meta-")
        with os.fdopen(fd, "w") as out:
            json.dump(meta, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, path)
        _fsync_dir(path.parent)

    # --- reads ------------------------------------------------------------------------------------

    def metadata(self, key: str) -> dict[str, Any] | None:
        """The object's metadata, or None if there is no object. A file without (or with stale)
        metadata (a crash between the two renames, a file copied in by hand) is still an object."""
        path = self.object_path(key)
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not path.is_file():
            return None
        try:
            meta = dict(json.loads(self._meta_path(key).read_text()))
        except (FileNotFoundError, NotADirectoryError, ValueError):
            meta = {}
        if meta.get("size") != stat.st_size:
            meta = {"key": key, "size": stat.st_size, "content_type": None, "storage_class": "STANDARD"}
        meta.setdefault("etag", None)
        meta["mtime"] = stat.st_mtime
        return meta

    def head(self, key: str) -> StoredObject | None:
        meta = self.metadata(key)
        if meta is None:
            return None
        return StoredObject(
            key, int(meta["size"]), meta.get("content_type"), str(meta.get("storage_class") or "STANDARD")
        )

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.object_path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound("Stored file not found.", code="object_not_found") from exc

    def download_to(self, key: str, path: Path) -> Path:
        source = self.object_path(key)
        if not source.is_file():
            raise NotFound("Stored file not found.", code="object_not_found")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        return path

    def list(self, prefix: str) -> list[StoredObject]:
        if not self._objects.is_dir():
            return []
        # Walk only the deepest directory the prefix names fully, as S3 lists by key prefix.
        directory, _, _ = prefix.rpartition("/")
        start = self._objects.joinpath(*directory.split("/")) if directory else self._objects
        if directory and (".." in directory.split("/") or not start.resolve().is_relative_to(self._objects)):
            return []
        objects = []
        for path in sorted(start.rglob("*")) if start.is_dir() else []:
            if not path.is_file():
                continue
            key = path.relative_to(self._objects).as_posix()
            if key.startswith(prefix):
                stored = self.head(key)
                if stored is not None:
                    objects.append(stored)
        return sorted(objects, key=lambda item: item.key)

    # --- deletes and tiers ------------------------------------------------------------------------

    def delete(self, key: str) -> None:
        path = self.object_path(key)
        with self._locked():
            for file in (path, self._meta_path(key)):
                with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
                    file.unlink()
            self._prune(path.parent, self._objects)
            self._prune(self._meta_path(key).parent, self._meta)

    @staticmethod
    def _prune(directory: Path, stop: Path) -> None:
        """Remove directories a delete left empty, up to the bucket's root."""
        while directory != stop and directory.is_relative_to(stop):
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def delete_prefix(self, prefix: str) -> int:
        keys = [item.key for item in self.list(prefix)]
        for key in keys:
            self.delete(key)
        return len(keys)

    def set_storage_class(self, key: str, storage_class: str) -> None:
        """Locally a tier is the metadata field ``storage_class`` (S3 copies the object onto itself)."""
        if storage_class not in STORAGE_CLASSES:
            raise InvalidRequest(f"Unknown storage class {storage_class!r}.", code="invalid_storage_class")
        with self._locked():
            meta = self.metadata(key)
            if meta is None:
                raise NotFound("Stored file not found.", code="object_not_found")
            meta.pop("mtime", None)
            meta["storage_class"] = storage_class
            self._scratch.mkdir(parents=True, exist_ok=True)
            self._write_meta(key, meta)

    # --- signed URLs ------------------------------------------------------------------------------

    def _signed_url(self, method: str, key: str, ttl_seconds: int | None, extra: str, params: dict[str, str]) -> str:
        validate_key(key)
        expires = int(time.time()) + (ttl_seconds or self._settings.signed_url_ttl_seconds)
        signature = sign(local_signing_key(self._settings), method, self.bucket, key, expires, extra)
        query = urlencode({**params, EXPIRES_PARAM: str(expires), SIGNATURE_PARAM: signature})
        base = (self._settings.local_storage_url or f"{self._settings.public_app_url}/_storage").rstrip("/")
        return f"{base}/{self.bucket}/{quote(key)}?{query}"

    def signed_get_url(self, key: str, *, ttl_seconds: int | None = None, filename: str | None = None) -> str:
        params = {FILENAME_PARAM: filename} if filename else {}
        return self._signed_url("GET", key, ttl_seconds, filename or "", params)

    def signed_put_url(self, key: str, *, content_type: str, ttl_seconds: int | None = None) -> str:
        return self._signed_url("PUT", key, ttl_seconds, content_type, {CONTENT_TYPE_PARAM: content_type})


class _HashingWriter:
    """Writes through to a file while counting bytes and hashing them (sha256, and md5 as S3's etag)."""

    def __init__(self, out: BinaryIO):
        self._out = out
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)

    def write(self, data: bytes) -> int:
        self._out.write(data)
        self.size += len(data)
        self.sha256.update(data)
        self.md5.update(data)
        return len(data)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@lru_cache(maxsize=4)
def _store(backend: str, bucket: str) -> ObjectStore:
    if backend in {"s3", "minio"}:
        return S3ObjectStore(bucket=bucket)
    if backend == "local":
        return LocalObjectStore(bucket=bucket)
    raise ValueError(f"Unsupported STORAGE_BACKEND {backend!r}")


def object_store(bucket: str | None = None) -> ObjectStore:
    """The configured store for ``bucket`` (default: the recordings bucket), one per container."""
    settings = get_settings()
    return _store(settings.storage_backend, bucket or settings.s3_bucket_name)


def reset_object_stores() -> None:
    _store.cache_clear()
