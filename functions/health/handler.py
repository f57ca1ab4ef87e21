"""Lambda: /api/v1/health."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import health

app = create_app("health", [health.router])
handler = lambda_handler(app)
