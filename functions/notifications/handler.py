"""Lambda: /api/v1/notifications (list, read, delete, count, preferences, tickets, SSE, unsubscribe),
/api/v1/admin/announcements, /api/v1/admin/maintenance and /api/v1/admin/features."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import broadcasts, notifications

app = create_app(
    "notifications",
    [notifications.router, notifications.admin_router, broadcasts.maintenance_router, broadcasts.features_router],
)
handler = lambda_handler(app)
