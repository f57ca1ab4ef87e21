"""Notification preferences: channels per type and category, quiet hours, grouping, hourly cap.

Stored as one "default" item per user plus optional "category#<c>" / "type#<t>" items; a channel
not set on the most specific item is inherited (type -> category -> default -> the type's own
default from the catalog). One query reads everything a delivery decision needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agents_meetings.clock import to_utc, utcnow
from agents_meetings.errors import Unprocessable
from agents_meetings.notifications.catalog import Category, NotificationType, type_info
from agents_meetings.tables import NotificationPreferenceModel

DEFAULT_SCOPE = "default"
CHANNELS = ("in_app", "email", "push")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_PER_HOUR_LIMIT = 1000


def parse_hhmm(value: str) -> time:
    found = _HHMM.match(value)
    if not found:
        raise Unprocessable("Times are HH:MM (24-hour), e.g. 22:00.", code="invalid_quiet_hours")
    return time(int(found.group(1)), int(found.group(2)))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "Europe" (a directory), too long
        raise Unprocessable(
            f"Unknown time zone {name!r}; use an IANA name such as Europe/Paris.", code="invalid_timezone"
        ) from exc


@dataclass(frozen=True)
class ChannelSetting:
    in_app: bool | None = None
    email: bool | None = None
    push: bool | None = None

    def as_dict(self) -> dict[str, bool | None]:
        return {"in_app": self.in_app, "email": self.email, "push": self.push}


@dataclass(frozen=True)
class Preferences:
    """A user's stored preferences, with the rules that read them."""

    user_id: str
    defaults: ChannelSetting = field(default_factory=ChannelSetting)
    categories: dict[str, ChannelSetting] = field(default_factory=dict)
    types: dict[str, ChannelSetting] = field(default_factory=dict)
    quiet_hours_start: str | None = None
    quiet_hours_end: str | None = None
    timezone: str = "UTC"
    group_similar_notifications: bool = True
    max_notifications_per_hour: int | None = None

    def channel_enabled(self, notification_type: str, channel: str) -> bool:
        info = type_info(notification_type)
        for setting in (self.types.get(notification_type), self.categories.get(info.category.value), self.defaults):
            value = getattr(setting, channel) if setting is not None else None
            if value is not None:
                return bool(value)
        if channel == "email":
            return info.email
        return channel == "in_app"  # push is opt-in

    def in_quiet_hours(self, at: datetime | None = None) -> bool:
        return self.quiet_hours_release(at) is not None

    def quiet_hours_release(self, at: datetime | None = None) -> datetime | None:
        """When the quiet hours around ``at`` end (UTC), or None when ``at`` is not in quiet hours."""
        if not self.quiet_hours_start or not self.quiet_hours_end:
            return None
        start, end = parse_hhmm(self.quiet_hours_start), parse_hhmm(self.quiet_hours_end)
        if start == end:
            return None
        tz = zone(self.timezone)
        local = to_utc(at or utcnow()).astimezone(tz)
        now_t = local.time().replace(tzinfo=None)
        # start > end wraps midnight (22:00-07:00).
        inside = start <= now_t < end if start < end else now_t >= start or now_t < end
        if not inside:
            return None
        end_day = local.date() if now_t < end else local.date() + timedelta(days=1)
        # Wall-clock end in the user's zone, converted back (DST shifts handled by zoneinfo).
        return to_utc(datetime.combine(end_day, end, tzinfo=tz))

    def as_dict(self) -> dict[str, Any]:
        return {
            "channels": self.defaults.as_dict(),
            "categories": {name: setting.as_dict() for name, setting in sorted(self.categories.items())},
            "types": {name: setting.as_dict() for name, setting in sorted(self.types.items())},
            "quiet_hours_start": self.quiet_hours_start,
            "quiet_hours_end": self.quiet_hours_end,
            "timezone": self.timezone,
            "group_similar_notifications": self.group_similar_notifications,
            "max_notifications_per_hour": self.max_notifications_per_hour,
        }


def _setting(item: NotificationPreferenceModel) -> ChannelSetting:
    return ChannelSetting(in_app=item.in_app, email=item.email, push=item.push)


def from_items(user_id: str, items: Iterable[NotificationPreferenceModel]) -> Preferences:
    values: dict[str, Any] = {"user_id": user_id, "categories": {}, "types": {}}
    for item in items:
        if item.scope == DEFAULT_SCOPE:
            values["defaults"] = _setting(item)
            values["quiet_hours_start"] = item.quiet_hours_start
            values["quiet_hours_end"] = item.quiet_hours_end
            values["timezone"] = item.timezone or "UTC"
            if item.group_similar_notifications is not None:
                values["group_similar_notifications"] = bool(item.group_similar_notifications)
            if item.max_notifications_per_hour is not None:
                values["max_notifications_per_hour"] = int(item.max_notifications_per_hour)
        elif item.scope.startswith("category#"):
            values["categories"][item.scope.split("#", 1)[1]] = _setting(item)
        elif item.scope.startswith("type#"):
            values["types"][item.scope.split("#", 1)[1]] = _setting(item)
    return Preferences(**values)


@dataclass(frozen=True)
class PreferenceChanges:
    """A partial update: None leaves a value as is; ``clear_quiet_hours`` removes them."""

    channels: dict[str, bool | None] | None = None
    categories: dict[str, dict[str, bool | None]] | None = None
    types: dict[str, dict[str, bool | None]] | None = None
    quiet_hours_start: str | None = None
    quiet_hours_end: str | None = None
    clear_quiet_hours: bool = False
    timezone: str | None = None
    group_similar_notifications: bool | None = None
    max_notifications_per_hour: int | None = None
    clear_max_notifications_per_hour: bool = False


class PreferenceService:
    def get(self, user_id: str) -> Preferences:
        return from_items(user_id, NotificationPreferenceModel.query(user_id))

    def get_many(self, user_ids: list[str]) -> dict[str, Preferences]:
        """Default items by BatchGetItem (100 per call); users with type/category items are rare
        and read in full with one query each."""
        found: dict[str, Preferences] = {}
        keys = [(user_id, DEFAULT_SCOPE) for user_id in dict.fromkeys(user_ids)]
        for item in NotificationPreferenceModel.batch_get(keys):
            found[item.user_id] = from_items(item.user_id, [item])
        return {user_id: found.get(user_id) or Preferences(user_id=user_id) for user_id in dict.fromkeys(user_ids)}

    def update(self, user_id: str, changes: PreferenceChanges) -> Preferences:
        current = self.get(user_id)
        self._validate(current, changes)
        now = utcnow()
        try:
            default = NotificationPreferenceModel.get(user_id, DEFAULT_SCOPE)
        except NotificationPreferenceModel.DoesNotExist:
            default = NotificationPreferenceModel(user_id=user_id, scope=DEFAULT_SCOPE)
        for channel, value in (changes.channels or {}).items():
            setattr(default, channel, value)
        if changes.clear_quiet_hours:
            default.quiet_hours_start = default.quiet_hours_end = None
        if changes.quiet_hours_start is not None:
            default.quiet_hours_start = changes.quiet_hours_start
        if changes.quiet_hours_end is not None:
            default.quiet_hours_end = changes.quiet_hours_end
        if changes.timezone is not None:
            default.timezone = changes.timezone
        if changes.group_similar_notifications is not None:
            default.group_similar_notifications = changes.group_similar_notifications
        if changes.clear_max_notifications_per_hour:
            default.max_notifications_per_hour = None
        elif changes.max_notifications_per_hour is not None:
            default.max_notifications_per_hour = changes.max_notifications_per_hour
        default.updated_at = now
        default.save()
        for prefix, scoped in (("category", changes.categories), ("type", changes.types)):
            for name, channels in (scoped or {}).items():
                self.set_channels(user_id, f"{prefix}#{name}", channels, now=now)
        return self.get(user_id)

    @staticmethod
    def set_channels(
        user_id: str, scope: str, channels: dict[str, bool | None], *, now: datetime | None = None
    ) -> None:
        actions: list[Any] = [NotificationPreferenceModel.updated_at.set(now or utcnow())]
        for channel, value in channels.items():
            attribute = getattr(NotificationPreferenceModel, channel)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        NotificationPreferenceModel(user_id=user_id, scope=scope).update(actions=actions)

    @staticmethod
    def _validate(current: Preferences, changes: PreferenceChanges) -> None:
        for channels in [changes.channels or {}, *(changes.categories or {}).values(), *(changes.types or {}).values()]:
            unknown = set(channels) - set(CHANNELS)
            if unknown:
                raise Unprocessable(
                    f"Unknown channels {sorted(unknown)}; use {list(CHANNELS)}.", code="invalid_channel"
                )
        for name in changes.categories or {}:
            if name not in {c.value for c in Category}:
                raise Unprocessable(f"Unknown category {name!r}.", code="invalid_category")
        for name in changes.types or {}:
            if name not in {t.value for t in NotificationType}:
                raise Unprocessable(f"Unknown notification type {name!r}.", code="invalid_notification_type")
        for value in (changes.quiet_hours_start, changes.quiet_hours_end):
            if value is not None:
                parse_hhmm(value)
        start = changes.quiet_hours_start if changes.quiet_hours_start is not None else current.quiet_hours_start
        end = changes.quiet_hours_end if changes.quiet_hours_end is not None else current.quiet_hours_end
        if not changes.clear_quiet_hours and (start is None) != (end is None):
            raise Unprocessable("Set both quiet_hours_start and quiet_hours_end.", code="invalid_quiet_hours")
        if changes.timezone is not None:
            zone(changes.timezone)
        limit = changes.max_notifications_per_hour
        if limit is not None and not 1 <= limit <= MAX_PER_HOUR_LIMIT:
            raise Unprocessable(
                f"max_notifications_per_hour is between 1 and {MAX_PER_HOUR_LIMIT}.", code="invalid_hourly_cap"
            )
