"""Lambda: /api/v1/webhooks/livekit (signed LiveKit webhooks; egress events drive recordings)."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import recordings

app = create_app("webhooks", [recordings.webhook_router])
handler = lambda_handler(app)
