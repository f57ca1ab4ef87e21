"""boto3 clients, each built once per container and only when first used, with the settings' region
and endpoint (a per-service override and botocore config where a caller needs its own)."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from agents_meetings.settings import Settings, get_settings

_clients: dict[tuple[str, str, str | None, str | None], Any] = {}
_lock = threading.Lock()


def aws_client(
    service: str,
    *,
    settings: Settings | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> Any:
    """The container's client for ``service``: one per (region, endpoint, config), built on first use.

    ``region`` and ``endpoint_url`` default to the settings' ``AWS_REGION`` and ``AWS_ENDPOINT_URL``;
    ``config`` holds ``botocore.config.Config`` arguments (timeouts, retries, addressing style).
    """
    settings = settings or get_settings()
    region = region or settings.aws_region
    endpoint_url = endpoint_url or settings.aws_endpoint_url
    key = (service, region, endpoint_url, json.dumps(config, sort_keys=True) if config else None)
    with _lock:
        client = _clients.get(key)
        if client is None:
            # Imported here: a function that never talks to AWS through boto3 never pays for it.
            import boto3
            from botocore.config import Config

            client = boto3.client(
                service,  # type: ignore[call-overload]  # boto3's overloads want a literal name
                region_name=region,
                endpoint_url=endpoint_url,
                config=Config(**config) if config else None,
            )
            _clients[key] = client
    return client


def reset_aws_clients() -> None:
    """Forget every client (tests that change credentials or endpoints between runs)."""
    with _lock:
        _clients.clear()
