"""Lambda: /api/v1/meetings (meetings, participants, LiveKit join tokens)."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import feedback, meetings, questions, recordings

# GET /api/v1/meetings/{id}/recordings, feedback and questions live under this function's prefix.
app = create_app("meetings", [meetings.router, feedback.router, questions.router, recordings.meeting_recordings_router])
handler = lambda_handler(app)
