"""Lambda: /api/v1/users (profiles) and /api/v1/admin/users, /api/v1/admin/audit-logs."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import users

app = create_app("users", [users.router, users.admin_router])
handler = lambda_handler(app)
