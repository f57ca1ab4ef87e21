"""Object storage behind one small port: S3 in the cloud (and MinIO through an endpoint URL).

``STORAGE_BACKEND`` picks the backend (spec 1.1). Recording files, transcripts, thumbnails and
uploaded materials all go through ``ObjectStore``; nothing else calls the S3 API for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from agents_meetings.errors import NotFound
from agents_meetings.settings import Settings, get_settings


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
            import boto3
            from botocore.config import Config

            settings = self._settings
            endpoint = settings.s3_endpoint_url or settings.aws_endpoint_url
            self._client = boto3.client(
                "s3",
                region_name=settings.s3_region or settings.aws_region,
                endpoint_url=endpoint,
                config=Config(
                    signature_version="s3v4",
                    retries={"max_attempts": 5, "mode": "adaptive"},
                    s3={"addressing_style": "path" if endpoint else "auto"},
                ),
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


@lru_cache(maxsize=4)
def _store(backend: str, bucket: str) -> ObjectStore:
    if backend in {"s3", "minio"}:
        return S3ObjectStore(bucket=bucket)
    raise ValueError(f"Unsupported STORAGE_BACKEND {backend!r}")


def object_store(bucket: str | None = None) -> ObjectStore:
    """The configured store for ``bucket`` (default: the recordings bucket), one per container."""
    settings = get_settings()
    return _store(settings.storage_backend, bucket or settings.s3_bucket_name)


def reset_object_stores() -> None:
    _store.cache_clear()
