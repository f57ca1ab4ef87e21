"""Run-time rate-limit configuration: limits and the IP allow-list, stored in the rate-limit-config
table so that admins change them without a redeploy, and cached per container for 30 seconds.

Items: ``limit#<name>`` -> ``{"rate": "100/minute", "shards": 1}``; ``allow#<network>`` -> a note.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from agents_meetings.clock import utcnow
from agents_meetings.observability import logger, metrics
from agents_meetings.ratelimit.rules import LIMIT_NAMES, Rate, default_rates, parse_rate
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import RateLimitConfigModel

CACHE_SECONDS = 30.0
# After a failed read, the defaults are used for this long before the table is asked again.
FAILED_READ_CACHE_SECONDS = 5.0
MAX_SHARDS = 16

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class LimitSetting:
    rate: Rate
    # Hot keys: the count is spread over this many items, each allowed its share of the limit.
    shards: int = 1
    overridden: bool = False


@dataclass(frozen=True)
class RateLimitConfig:
    limits: dict[str, LimitSetting]
    allow_list: dict[str, str] = field(default_factory=dict)  # network -> note

    @cached_property
    def networks(self) -> tuple[Network, ...]:
        """Parsed once per loaded configuration, not per request."""
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self.allow_list)

    def is_allow_listed(self, ip: str | None) -> bool:
        if not ip or not self.allow_list:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def normalise_network(entry: str) -> str:
    """An IP address or CIDR block in canonical form; ValueError if it is neither."""
    return str(ipaddress.ip_network(entry.strip(), strict=False))


def _setting(value: str) -> LimitSetting:
    data: dict[str, Any] = json.loads(value)
    shards = int(data.get("shards", 1))
    return LimitSetting(rate=parse_rate(str(data["rate"])), shards=min(max(shards, 1), MAX_SHARDS), overridden=True)


def read_config(settings: Settings | None = None) -> RateLimitConfig:
    """Defaults overlaid with the table's items (one Scan: the table holds a few dozen items)."""
    settings = settings or get_settings()
    limits = {name: LimitSetting(rate) for name, rate in default_rates(settings).items()}
    allow_list: dict[str, str] = {}
    for item in RateLimitConfigModel.scan():
        kind, _, name = item.name.partition("#")
        try:
            if kind == "limit" and name in LIMIT_NAMES:
                limits[name] = _setting(item.value)
            elif kind == "allow":
                allow_list[normalise_network(name)] = item.value
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring a malformed rate-limit setting", extra={"name": item.name, "error": str(exc)})
    return RateLimitConfig(limits=limits, allow_list=allow_list)


class ConfigCache:
    """The configuration as of at most CACHE_SECONDS ago; a failed read falls back to the defaults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config: RateLimitConfig | None = None
        self._expires = 0.0

    def get(self) -> RateLimitConfig:
        now = time.monotonic()
        config = self._config
        if config is not None and now < self._expires:
            return config
        with self._lock:
            if self._config is not None and now < self._expires:
                return self._config
            try:
                self._config, self._expires = read_config(), now + CACHE_SECONDS
            except Exception as exc:  # noqa: BLE001  # fail open: the spec's limits, no allow-list
                logger.warning("rate-limit configuration unavailable; using defaults", extra={"error": str(exc)})
                metrics.add_metric(name="RateLimitConfigErrors", unit="Count", value=1)
                self._config = RateLimitConfig(
                    limits={name: LimitSetting(rate) for name, rate in default_rates(get_settings()).items()}
                )
                self._expires = now + FAILED_READ_CACHE_SECONDS
            return self._config

    def invalidate(self) -> None:
        with self._lock:
            self._config, self._expires = None, 0.0


config_cache = ConfigCache()


def save_limit(name: str, rate: Rate, shards: int, *, updated_by: str) -> None:
    RateLimitConfigModel(
        name=f"limit#{name}",
        value=json.dumps({"rate": str(rate), "shards": shards}),
        updated_by=updated_by,
        updated_at=utcnow(),
    ).save()
    config_cache.invalidate()


def delete_limit(name: str) -> None:
    RateLimitConfigModel(name=f"limit#{name}", value="").delete()
    config_cache.invalidate()


def save_allow_listed(network: str, note: str, *, updated_by: str) -> None:
    RateLimitConfigModel(name=f"allow#{network}", value=note, updated_by=updated_by, updated_at=utcnow()).save()
    config_cache.invalidate()


def delete_allow_listed(network: str) -> bool:
    from pynamodb.exceptions import DoesNotExist

    try:
        item = RateLimitConfigModel.get(f"allow#{network}", consistent_read=True)
    except DoesNotExist:
        return False
    item.delete()
    config_cache.invalidate()
    return True
