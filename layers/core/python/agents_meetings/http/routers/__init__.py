"""One router per endpoint group; each Lambda function imports only its own.

``ALL_ROUTERS`` (for the merged OpenAPI document) is resolved on first access, so that importing
one router does not import every other group's code and dependencies.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "ALL_ROUTERS":
        from agents_meetings.http.routers import (
            auth,
            health,
            meetings,
            notifications,
            oauth,
            passwords,
            rate_limits,
            sessions,
            two_factor,
            users,
        )

        return (
            health.router,
            auth.router,
            passwords.router,
            sessions.router,
            two_factor.router,
            oauth.router,
            oauth.directory_router,
            oauth.saml_router,
            users.router,
            users.admin_router,
            meetings.router,
            rate_limits.router,
            notifications.router,
            notifications.admin_router,
        )
    raise AttributeError(name)
