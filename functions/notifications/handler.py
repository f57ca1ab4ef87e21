"""Lambda: /api/v1/notifications (list, read, delete, count, preferences, tickets, SSE, unsubscribe)
and /api/v1/admin/announcements."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import notifications

app = create_app("notifications", [notifications.router, notifications.admin_router])
handler = lambda_handler(app)
