"""Lambda: /api/v1/users (profiles), /api/v1/admin/users, /api/v1/admin/audit-logs, /api/v1/admin/rate-limits,
/api/v1/admin/dashboard, /api/v1/admin/settings, /api/v1/admin/cache and /api/v1/presence."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import cache, platform, rate_limits, users

app = create_app(
    "users",
    [
        users.router,
        users.admin_router,
        rate_limits.router,
        cache.router,
        platform.dashboard_router,
        platform.settings_router,
        platform.presence_router,
    ],
)
handler = lambda_handler(app)
