"""LiveKit webhooks: the signature check (a JWT signed with the API secret, carrying the body's
hash) and the egress events that drive recording status."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agents_meetings.errors import Unauthenticated
from agents_meetings.meetings.livekit_access import livekit_api_secret
from agents_meetings.observability import emit_dimensioned
from agents_meetings.recordings.egress import EgressSnapshot, snapshot_of
from agents_meetings.settings import get_settings

EGRESS_EVENTS = frozenset({"egress_started", "egress_updated", "egress_ended"})
# LiveKit's room, participant and track webhooks: each counted (service ``webhooks``), nothing stored.
LIVEKIT_EVENT_METRICS = {
    "room_started": "LiveKitRoomsStarted",
    "room_finished": "LiveKitRoomsFinished",
    "participant_joined": "LiveKitParticipantsJoined",
    "participant_left": "LiveKitParticipantsLeft",
    "track_published": "LiveKitTracksPublished",
    "track_unpublished": "LiveKitTracksUnpublished",
}


@dataclass(frozen=True)
class LiveKitWebhook:
    """A verified webhook: its event name, the egress it reports (None: not an egress event), and
    the room it concerns (room, participant and track events)."""

    event: str
    egress: EgressSnapshot | None
    room: str | None = None


@lru_cache(maxsize=1)
def _receiver(key: str, secret: str) -> Any:
    # livekit.api is loaded by the webhook function only, on its first webhook.
    from livekit.api.access_token import TokenVerifier
    from livekit.api.webhook import WebhookReceiver

    return WebhookReceiver(TokenVerifier(key, secret))


def count_livekit_event(webhook: LiveKitWebhook) -> bool:
    """Count a room, participant or track webhook (its room's name in metadata); False: not one."""
    name = LIVEKIT_EVENT_METRICS.get(webhook.event)
    if name is None:
        return False
    emit_dimensioned({name: ("Count", 1)}, {}, {"room": webhook.room})
    return True


def verify_livekit_webhook(body: bytes, authorization: str) -> LiveKitWebhook:
    """The webhook if its Authorization header signs this body with the platform's LiveKit key."""
    settings = get_settings()
    secret = livekit_api_secret(settings)
    if not settings.livekit_api_key or secret is None or not authorization:
        raise Unauthenticated("A signed LiveKit webhook is required.", code="invalid_webhook_signature")
    text = body.decode("utf-8", errors="replace")
    token = authorization[7:] if authorization.lower().startswith("bearer ") else authorization
    try:
        event = _receiver(settings.livekit_api_key, secret).receive(text, token)
    except Exception as exc:
        raise Unauthenticated("The webhook's signature does not match.", code="invalid_webhook_signature") from exc
    if event.event not in EGRESS_EVENTS or not event.HasField("egress_info"):
        room = event.room.name if event.HasField("room") else None
        return LiveKitWebhook(event=event.event, egress=None, room=room or None)
    return LiveKitWebhook(event=event.event, egress=snapshot_of(event.egress_info, settings.s3_bucket_name))
