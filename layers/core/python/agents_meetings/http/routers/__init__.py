"""One router per endpoint group; each Lambda function imports only its own.

``ALL_ROUTERS`` (for the merged OpenAPI document) is resolved on first access, so that importing
one router does not import every other group's code and dependencies.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Cold start, not a cycle: each Lambda function imports only its own routers (functions/*/
    # handler.py), and only the docs function (and the tests) asks for every group.
    if name == "ALL_ROUTERS":
        from agents_meetings.http.routers import (
            auth,
            broadcasts,
            cache,
            feedback,
            health,
            materials,
            meetings,
            notifications,
            oauth,
            passwords,
            platform,
            questions,
            rate_limits,
            recordings,
            search,
            sessions,
            transcripts,
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
            feedback.router,
            questions.router,
            rate_limits.router,
            cache.router,
            recordings.router,
            recordings.meeting_recordings_router,
            recordings.admin_policies_router,
            recordings.admin_recordings_router,
            recordings.webhook_router,
            transcripts.router,
            search.router,
            search.admin_router,
            materials.router,
            notifications.router,
            notifications.admin_router,
            broadcasts.maintenance_router,
            broadcasts.features_router,
            platform.dashboard_router,
            platform.settings_router,
            platform.presence_router,
        )
    raise AttributeError(name)
