"""Lambda: /api/v1/meetings (meetings, participants, LiveKit join tokens)."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import meetings

app = create_app("meetings", [meetings.router])
handler = lambda_handler(app)
