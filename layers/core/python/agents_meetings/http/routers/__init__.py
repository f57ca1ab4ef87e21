"""One router per endpoint group; each Lambda function mounts only its own."""

from agents_meetings.http.routers import auth, health, meetings, users

# Every API router, for the merged OpenAPI document (the docs function imports this, others don't).
ALL_ROUTERS = (health.router, auth.router, users.router, users.admin_router, meetings.router)
