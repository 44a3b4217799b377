"""Typed reads from one mapping of the ``forward:`` config, failing with the key's full name.

Every value of the forwarding config goes through here once, at start-up, so a
typo is a :class:`ConfigError` naming the file and the dotted key, never a
``KeyError`` in the middle of a delivery.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from leakwarden.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_MISSING = object()


class Section:
    """A mapping at ``prefix`` inside the file ``source``."""

    def __init__(self, data: Any, source: str, prefix: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(source, prefix, f"must be a mapping, got {type(data).__name__}")
        for k in data:
            if not isinstance(k, str):
                raise ConfigError(source, prefix, f"keys must be strings, got {k!r}")
        self.data: Mapping[str, Any] = data
        self.source = source
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.source, self.key(name), problem)

    def only(self, allowed: Iterable[str]) -> None:
        """Reject unknown keys: a misspelt option must not be silently ignored."""
        allowed = set(allowed)
        for k in self.data:
            if k not in allowed:
                raise self.error(k, f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def section(self, name: str) -> "Section":
        return Section(self.data.get(name), self.source, self.key(name))

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        if name in self.data and self.data[name] is not None:
            return self.data[name]
        if default is _MISSING:
            raise self.error(name, "is required")
        return default

    def str(self, name: str, default: Any = _MISSING, *, choices: Iterable[str] | None = None) -> Any:
        v = self.raw(name, default)
        if v is default and default is not _MISSING:
            return v
        if not isinstance(v, str) or not v.strip():
            raise self.error(name, f"must be a non-empty string, got {v!r}")
        if choices is not None and v not in set(choices):
            raise self.error(name, f"must be one of {', '.join(choices)}, got {v!r}")
        return v

    def int(self, name: str, default: Any = _MISSING, *, min: int | None = None, max: int | None = None) -> Any:
        v = self.raw(name, default)
        if v is default and default is not _MISSING:
            return v
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(name, f"must be an integer, got {v!r}")
        self._bounds(name, v, min, max)
        return v

    def float(self, name: str, default: Any = _MISSING, *, min: float | None = None, max: float | None = None) -> Any:
        v = self.raw(name, default)
        if v is default and default is not _MISSING:
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.error(name, f"must be a number, got {v!r}")
        self._bounds(name, v, min, max)
        return float(v)

    def bool(self, name: str, default: Any = _MISSING) -> Any:
        v = self.raw(name, default)
        if not isinstance(v, bool):
            raise self.error(name, f"must be true or false, got {v!r}")
        return v

    def duration(self, name: str, default: Any = _MISSING, *, min: float = 0.0) -> Any:
        """Seconds, given as a number or a string like ``90s``, ``15m``, ``4h``, ``1d``."""
        v = self.raw(name, default)
        if v is default and default is not _MISSING:
            return v
        seconds = parse_duration(v)
        if seconds is None:
            raise self.error(name, f"must be a duration like 30, 90s, 15m, 4h or 1d, got {v!r}")
        self._bounds(name, seconds, min, None)
        return seconds

    def str_list(self, name: str, default: Any = _MISSING, *, choices: Iterable[str] | None = None) -> Any:
        v = self.raw(name, default)
        if v is default and default is not _MISSING:
            return v
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
            raise self.error(name, f"must be a string or a non-empty list of strings, got {v!r}")
        if choices is not None:
            allowed = list(choices)
            for x in v:
                if x not in allowed:
                    raise self.error(name, f"{x!r} is not one of {', '.join(allowed)}")
        return tuple(v)

    def secret(self, name: str, *, required: bool = True) -> str | None:
        """A secret given inline (``name``), from a file (``name_file``) or the environment (``name_env``)."""
        given = [k for k in (name, f"{name}_file", f"{name}_env") if self.data.get(k) is not None]
        if len(given) > 1:
            raise self.error(name, f"give only one of {', '.join(given)}")
        if not given:
            if required:
                raise self.error(name, f"is required (or {name}_file / {name}_env)")
            return None
        key = given[0]
        v = self.str(key)
        if key.endswith("_file"):
            try:
                return Path(v).read_text(encoding="utf-8").strip()
            except OSError as e:
                raise self.error(key, f"cannot read {v}: {e.strerror}") from e
        if key.endswith("_env"):
            if v not in os.environ:
                raise self.error(key, f"environment variable {v} is not set")
            return os.environ[v]
        return v

    def _bounds(self, name: str, v: float, lo: float | None, hi: float | None) -> None:
        if lo is not None and v < lo:
            raise self.error(name, f"must be >= {lo}, got {v!r}")
        if hi is not None and v > hi:
            raise self.error(name, f"must be <= {hi}, got {v!r}")


def parse_duration(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v) if v >= 0 else None
    if isinstance(v, str):
        m = _DURATION.match(v)
        if m:
            return float(m.group(1)) * _UNITS[m.group(2)]
    return None
