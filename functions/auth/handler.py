"""Lambda: /api/v1/auth (register, login, refresh, logout, change-password, password reset, 2FA, OAuth)."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import auth, oauth, passwords, two_factor

app = create_app(
    "auth",
    [auth.router, passwords.router, two_factor.router, oauth.router, oauth.directory_router, oauth.saml_router],
)
handler = lambda_handler(app)
