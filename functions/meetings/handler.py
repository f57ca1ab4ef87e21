"""Lambda: /api/v1/meetings (meetings, participants, LiveKit join tokens)."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import meetings, recordings

# GET /api/v1/meetings/{id}/recordings lives under this function's prefix.
app = create_app("meetings", [meetings.router, recordings.meeting_recordings_router])
handler = lambda_handler(app)
