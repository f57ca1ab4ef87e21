"""Who is calling, for code far from the HTTP layer (session records): set per request by the app."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestOrigin:
    ip: str | None = None
    user_agent: str | None = None


# The default is an immutable (frozen) value, so sharing it between contexts is safe.
current_origin: ContextVar[RequestOrigin] = ContextVar("current_origin", default=RequestOrigin())  # noqa: B039
