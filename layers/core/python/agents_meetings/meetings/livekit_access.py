"""LiveKit room access tokens, built with livekit-api's AccessToken (signed with the API secret)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from agents_meetings.errors import ServiceUnavailable
from agents_meetings.secret_values import resolve_secret
from agents_meetings.settings import Settings, get_settings


@dataclass(frozen=True)
class RoomAccess:
    token: str
    url: str
    room_name: str
    identity: str
    expires_in: int


def livekit_api_secret(settings: Settings) -> str | None:
    return resolve_secret(settings.livekit_api_secret, settings.livekit_api_secret_arn)


def build_room_access(
    *,
    room_name: str,
    identity: str,
    display_name: str,
    can_publish: bool,
    is_room_admin: bool,
    metadata: dict[str, str],
    settings: Settings | None = None,
) -> RoomAccess:
    # livekit.api pulls in aiohttp and protobuf; only the join route pays for it.
    from livekit.api.access_token import AccessToken, VideoGrants

    settings = settings or get_settings()
    secret = livekit_api_secret(settings)
    if not settings.livekit_api_key or secret is None:
        raise ServiceUnavailable(
            "Video rooms are not configured (LIVEKIT_API_KEY and LIVEKIT_API_SECRET or LIVEKIT_API_SECRET_ARN).",
            code="livekit_not_configured",
            retry_after_seconds=60,
        )
    ttl = settings.livekit_token_ttl_seconds
    grants = VideoGrants(
        room_join=True,
        room=room_name,
        can_publish=can_publish,
        can_publish_data=True,
        can_subscribe=True,
        room_admin=is_room_admin,
    )
    token = (
        AccessToken(settings.livekit_api_key, secret)
        .with_identity(identity)
        .with_name(display_name)
        .with_metadata(json.dumps(metadata))
        .with_grants(grants)
        .with_ttl(timedelta(seconds=ttl))
        .to_jwt()
    )
    return RoomAccess(token=token, url=settings.livekit_url, room_name=room_name, identity=identity, expires_in=ttl)
