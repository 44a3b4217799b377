"""The ``dashboard:`` section of the collector config, validated once at start.

    dashboard:
      timezone: Asia/Shanghai   # how times are shown (IANA name); default UTC
      page_size: 50             # rows per queue page, 10-500

Errors are :class:`~leakwarden.errors.ConfigError` naming the file and the key.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from leakwarden.errors import ConfigError

KEYS = ("timezone", "page_size")


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    tz: dt.tzinfo = dt.timezone.utc
    page_size: int = 50


def parse(raw: Any, source: str) -> DashboardSettings:
    if raw is None:
        return DashboardSettings()
    if not isinstance(raw, dict):
        raise ConfigError(source, "dashboard", "must be a mapping")
    for key in raw:
        if key not in KEYS:
            raise ConfigError(source, f"dashboard.{key}", f"unknown key (expected one of {', '.join(KEYS)})")
    tz: dt.tzinfo = dt.timezone.utc
    name = raw.get("timezone")
    if name is not None:
        if not isinstance(name, str):
            raise ConfigError(source, "dashboard.timezone", f"must be a time zone name, got {name!r}")
        try:
            tz = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise ConfigError(source, "dashboard.timezone", f"unknown time zone {name!r}") from e
    size = raw.get("page_size", 50)
    if isinstance(size, bool) or not isinstance(size, int) or not 10 <= size <= 500:
        raise ConfigError(source, "dashboard.page_size", f"must be a whole number from 10 to 500, got {size!r}")
    return DashboardSettings(tz=tz, page_size=size)
