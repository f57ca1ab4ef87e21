"""Platform settings admins change at run time: whether registration is open, the languages a
meeting gets when its organiser names none, and the maintenance banner clients show.

One DynamoDB item (``platform-settings``, key "platform"), read through the cache
(``settings:platform``, 1 hour) and invalidated when an admin saves a change. Registration
(identity), meeting creation (meetings) and the health endpoint and ``/users/me`` (banner) apply it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from agents_meetings.cache import cache_service, settings_key
from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.errors import Conflict
from agents_meetings.tables import PlatformSettingsModel

SETTINGS_ITEM = "platform"
SETTINGS_CACHE_KEY = settings_key(SETTINGS_ITEM)
SETTINGS_TTL_SECONDS = 3600
DEFAULT_MEETING_LANGUAGES = ("en",)


@dataclass(frozen=True)
class PlatformSettings:
    registration_open: bool = True
    default_meeting_languages: list[str] = field(default_factory=lambda: list(DEFAULT_MEETING_LANGUAGES))
    maintenance_banner: str | None = None
    version: int = 0
    updated_at: datetime | None = None
    updated_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "registration_open": self.registration_open,
            "default_meeting_languages": list(self.default_meeting_languages),
            "maintenance_banner": self.maintenance_banner,
            "version": self.version,
            "updated_at": isoformat_z(self.updated_at) if self.updated_at else None,
            "updated_by": self.updated_by,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlatformSettings:
        updated = data.get("updated_at")
        return cls(
            registration_open=bool(data.get("registration_open", True)),
            default_meeting_languages=list(data.get("default_meeting_languages") or DEFAULT_MEETING_LANGUAGES),
            maintenance_banner=data.get("maintenance_banner"),
            version=int(data.get("version") or 0),
            updated_at=datetime.fromisoformat(updated.replace("Z", "+00:00")) if updated else None,
            updated_by=data.get("updated_by"),
        )


def _load() -> dict[str, Any]:
    try:
        item = PlatformSettingsModel.get(SETTINGS_ITEM)
    except DoesNotExist:
        return PlatformSettings().as_dict()
    return PlatformSettings(
        registration_open=bool(item.registration_open),
        default_meeting_languages=[str(code) for code in (item.default_meeting_languages or DEFAULT_MEETING_LANGUAGES)],
        maintenance_banner=item.maintenance_banner,
        version=int(item.version or 0),
        updated_at=item.updated_at,
        updated_by=item.updated_by,
    ).as_dict()


def platform_settings() -> PlatformSettings:
    """The current settings (the defaults until an admin saves any)."""
    return PlatformSettings.from_dict(cache_service().get_or_set(SETTINGS_CACHE_KEY, _load, SETTINGS_TTL_SECONDS))


def read_platform_settings_uncached() -> PlatformSettings:
    return PlatformSettings.from_dict(_load())


def save_platform_settings(
    *,
    registration_open: bool,
    default_meeting_languages: list[str],
    maintenance_banner: str | None,
    updated_by: str,
    expected_version: int | None = None,
) -> tuple[PlatformSettings, PlatformSettings]:
    """Replace the settings (conditional on the version read, so two admins cannot overwrite each
    other unseen); invalidates the cache everywhere. Returns (before, after)."""
    before = read_platform_settings_uncached()
    if expected_version is not None and expected_version != before.version:
        raise Conflict(
            "The settings changed meanwhile; reload and retry.",
            code="concurrent_update",
            details={"version": before.version},
        )
    now = utcnow()
    item = PlatformSettingsModel(
        key=SETTINGS_ITEM,
        registration_open=registration_open,
        default_meeting_languages=default_meeting_languages,
        maintenance_banner=maintenance_banner or None,
        version=before.version + 1,
        updated_at=now,
        updated_by=updated_by,
    )
    condition = (
        PlatformSettingsModel.key.does_not_exist()
        if before.version == 0
        else PlatformSettingsModel.version == before.version
    )
    try:
        item.save(condition=condition)
    except PutError as exc:
        if is_condition_failure(exc):
            raise Conflict("The settings changed meanwhile; reload and retry.", code="concurrent_update") from exc
        raise
    cache_service().delete(SETTINGS_CACHE_KEY)
    after = PlatformSettings(
        registration_open=registration_open,
        default_meeting_languages=list(default_meeting_languages),
        maintenance_banner=maintenance_banner or None,
        version=before.version + 1,
        updated_at=now,
        updated_by=updated_by,
    )
    return before, after
