"""Lambda: /api/v1/recordings, admin storage policies and apply-policy (recording control, spec 1.1)."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import recordings

app = create_app(
    "recordings",
    [recordings.router, recordings.admin_policies_router, recordings.admin_recordings_router],
)
handler = lambda_handler(app)
