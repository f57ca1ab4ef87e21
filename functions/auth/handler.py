"""Lambda: /api/v1/auth (register, login, refresh, logout)."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import auth

app = create_app("auth", [auth.router])
handler = lambda_handler(app)
