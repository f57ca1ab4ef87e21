"""LiveKit room tokens are real LiveKit tokens: livekit-api's own verifier accepts them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from agents_meetings.errors import ServiceUnavailable
from agents_meetings.meetings.livekit_access import build_room_access
from agents_meetings.settings import Settings, get_settings, reset_settings
from livekit.api import TokenVerifier

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    reset_settings()


def _verifier() -> TokenVerifier:
    settings = get_settings()
    assert settings.livekit_api_key and settings.livekit_api_secret
    return TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret.get_secret_value())


def test_the_token_verifies_with_livekit_and_grants_joining_that_room_only() -> None:
    access = build_room_access(
        room_name="meeting-1234",
        identity="user-1",
        display_name="Ada Lovelace",
        can_publish=True,
        is_room_admin=False,
        metadata={"language": "es", "meeting_role": "attendee"},
    )
    claims = _verifier().verify(access.token)
    assert claims.identity == "user-1"
    assert claims.name == "Ada Lovelace"
    assert claims.video is not None
    assert claims.video.room == "meeting-1234"
    assert claims.video.room_join is True
    assert claims.video.can_publish is True
    assert claims.video.can_subscribe is True
    assert not claims.video.room_admin
    assert not claims.video.room_create and not claims.video.room_list and not claims.video.room_record
    assert json.loads(claims.metadata) == {"language": "es", "meeting_role": "attendee"}
    settings = get_settings()
    assert access.url == settings.livekit_url == "ws://127.0.0.1:7880"
    assert access.room_name == "meeting-1234" and access.identity == "user-1"
    assert access.expires_in == settings.livekit_token_ttl_seconds


def test_the_token_lifetime_is_the_configured_ttl() -> None:
    from jose import jwt

    access = build_room_access(
        room_name="r1", identity="u1", display_name="U", can_publish=False, is_room_admin=True, metadata={}
    )
    claims = jwt.get_unverified_claims(access.token)
    assert claims["iss"] == "testkey"
    assert claims["exp"] - int(datetime.now(UTC).timestamp()) == pytest.approx(access.expires_in, abs=5)


def test_publishing_and_room_admin_follow_the_arguments() -> None:
    listener = build_room_access(
        room_name="r1", identity="u1", display_name="U", can_publish=False, is_room_admin=False, metadata={}
    )
    teacher = build_room_access(
        room_name="r1", identity="u2", display_name="T", can_publish=True, is_room_admin=True, metadata={}
    )
    listener_video = _verifier().verify(listener.token).video
    teacher_video = _verifier().verify(teacher.token).video
    assert listener_video is not None and teacher_video is not None
    assert listener_video.can_publish is False and not listener_video.room_admin
    assert teacher_video.can_publish is True and teacher_video.room_admin is True


def test_a_token_signed_with_another_secret_fails_livekit_verification() -> None:
    access = build_room_access(
        room_name="r1",
        identity="u1",
        display_name="U",
        can_publish=True,
        is_room_admin=False,
        metadata={},
        settings=Settings(LIVEKIT_API_SECRET="another-secret-another-secret-another-se"),
    )
    with pytest.raises(Exception):  # noqa: B017 - livekit raises jwt's own error types
        _verifier().verify(access.token)


@pytest.mark.parametrize("missing", ["LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"])
def test_without_livekit_credentials_joining_is_unavailable(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.delenv(missing)
    with pytest.raises(ServiceUnavailable) as raised:
        build_room_access(
            room_name="r1",
            identity="u1",
            display_name="U",
            can_publish=True,
            is_room_admin=False,
            metadata={},
            settings=Settings(),
        )
    assert raised.value.status_code == 503
    assert raised.value.code == "livekit_not_configured"
    assert raised.value.retry_after_seconds == 60
