"""Lambda: /api/v1/auth (register, login, refresh, logout, change-password, password reset, sessions, 2FA,
OAuth / LDAP / SAML)."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import auth, oauth, passwords, sessions, two_factor

app = create_app(
    "auth",
    [
        auth.router,
        passwords.router,
        sessions.router,
        two_factor.router,
        oauth.router,
        oauth.directory_router,
        oauth.saml_router,
    ],
)
handler = lambda_handler(app)
