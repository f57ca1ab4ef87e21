"""Lambda: /api/v1/recordings (with transcripts), admin storage policies and apply-policy (spec 1.1)."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import recordings, transcripts

app = create_app(
    "recordings",
    [recordings.router, transcripts.router, recordings.admin_policies_router, recordings.admin_recordings_router],
)
handler = lambda_handler(app)
