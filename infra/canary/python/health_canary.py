"""CloudWatch Synthetics canary (Python runtime): ``GET /api/v1/health`` and check its JSON.

Deployed by ``infra/constructs/health.py`` every minute with ``HEALTH_URL`` set to the stage's
health URL. It passes when the answer is 200, ``application/json``, ``status`` is ``"ok"`` and every
dependency check reports ``"ok"``; anything else raises ``CanaryFailure``, which Synthetics records
as a failed run (``SuccessPercent`` < 100, the ``health-down`` alarm). Standard library only: the
canary runtime has neither the platform's layers nor its dependencies.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

TIMEOUT_SECONDS = 10.0
USER_AGENT = "agents-meetings-health-canary"


class CanaryFailure(Exception):
    """The health check answered, but not healthy (or not at all)."""


def check(url: str, *, timeout: float = TIMEOUT_SECONDS) -> dict[str, Any]:
    """The health document at ``url`` when it reports healthy; raises ``CanaryFailure`` otherwise."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})  # noqa: S310 - https URL from the stack
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, content_type, body = response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        raise CanaryFailure(f"GET {url} answered {error.code}: {error.read()[:500]!r}") from error
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise CanaryFailure(f"GET {url} failed: {error}") from error
    if status != 200:
        raise CanaryFailure(f"GET {url} answered {status}")
    if not content_type.startswith("application/json"):
        raise CanaryFailure(f"GET {url} answered {content_type or 'no content type'}, not JSON")
    try:
        document = json.loads(body)
    except ValueError as error:
        raise CanaryFailure(f"GET {url} answered invalid JSON: {body[:200]!r}") from error
    if not isinstance(document, dict) or document.get("status") != "ok":
        raise CanaryFailure(
            f"GET {url} reports status {document.get('status') if isinstance(document, dict) else document!r}"
        )
    checks = document.get("checks")
    if not isinstance(checks, dict) or not checks:
        raise CanaryFailure(f"GET {url} reports no dependency checks")
    failing = sorted(name for name, value in checks.items() if value != "ok")
    if failing:
        raise CanaryFailure(f"GET {url} reports dependencies down: {', '.join(failing)}")
    return document


def handler(event: Any = None, context: Any = None) -> dict[str, Any]:
    """The canary's entry point (``health_canary.handler``)."""
    document = check(os.environ["HEALTH_URL"])
    print(json.dumps({"message": "healthy", "version": document.get("version"), "checks": document["checks"]}))
    return document
