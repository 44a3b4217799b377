"""Removable-device policy (configs/devices.yaml), in the spirit of USBGuard.

Rules are tried in order; the first whose every given attribute matches
decides ``allow``, ``alert`` or ``block``. ``block`` is raised as a critical
event and, where the agent runs as root, the medium is remounted read-only.
Devices listed under ``revoked`` (reported lost or withdrawn, regulation
art. 39) are critical whenever they are seen again, whatever the rules say.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any


from leakwarden.errors import ConfigError
from leakwarden.yamlfile import read_yaml

_MATCH_KEYS = ("id", "vendor_id", "product_id", "serial", "label", "fs_uuid", "vendor", "model")
ACTIONS = ("allow", "alert", "block")


@dataclass(frozen=True, slots=True)
class Rule:
    action: str
    match: tuple[tuple[str, str], ...]
    name: str

    def matches(self, ident: dict[str, Any]) -> bool:
        for key, pattern in self.match:
            if key == "id":
                value = f"{ident.get('vendor_id') or ''}:{ident.get('product_id') or ''}"
            else:
                value = ident.get(key)
            if value is None or not fnmatch.fnmatchcase(str(value).lower(), pattern.lower()):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Decision:
    action: str
    rule: str
    severity: str
    revoked: str | None = None  # reason, when the device is on the revoked list


class DevicePolicy:
    def __init__(self, rules: list[Rule], default: str, revoked: list[tuple[Rule, str]]) -> None:
        self.rules = rules
        self.default = default
        self.revoked = revoked

    @classmethod
    def default_policy(cls) -> "DevicePolicy":
        return cls([], "alert", [])

    @classmethod
    def load(cls, path: str) -> "DevicePolicy":
        raw = read_yaml(path)
        if not isinstance(raw, dict):
            raise ConfigError(path, "", "must be a mapping with default, rules, revoked")
        unknown = set(raw) - {"default", "rules", "revoked"}
        if unknown:
            raise ConfigError(path, sorted(unknown)[0], "unknown key (allowed: default, revoked, rules)")
        default = raw.get("default", "alert")
        if default not in ACTIONS:
            raise ConfigError(path, "default", f"must be one of {', '.join(ACTIONS)}")
        rules = [cls._rule(path, f"rules[{i}]", r, need_action=True) for i, r in enumerate(raw.get("rules") or [])]
        revoked = []
        for i, r in enumerate(raw.get("revoked") or []):
            rule = cls._rule(path, f"revoked[{i}]", r, need_action=False)
            revoked.append((rule, str(r.get("reason", "reported lost or revoked"))))
        return cls(rules, default, revoked)

    @staticmethod
    def _rule(path: str, key: str, raw: Any, *, need_action: bool) -> Rule:
        if not isinstance(raw, dict):
            raise ConfigError(path, key, "must be a mapping")
        allowed = set(_MATCH_KEYS) | {"name"} | ({"action"} if need_action else {"reason"})
        unknown = set(raw) - allowed
        if unknown:
            raise ConfigError(path, f"{key}.{sorted(unknown)[0]}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        action = raw.get("action", "alert") if need_action else "block"
        if action not in ACTIONS:
            raise ConfigError(path, f"{key}.action", f"must be one of {', '.join(ACTIONS)}")
        match = tuple((k, str(raw[k])) for k in _MATCH_KEYS if k in raw)
        if not match:
            raise ConfigError(path, key, f"needs at least one of {', '.join(_MATCH_KEYS)}")
        for k, v in match:
            if k == "id" and ":" not in v:
                raise ConfigError(path, f"{key}.id", "must be vendor:product, e.g. 0781:5567")
        return Rule(action, match, str(raw.get("name", key)))

    def decide(self, ident: dict[str, Any]) -> Decision:
        for rule, reason in self.revoked:
            if rule.matches(ident):
                return Decision("block", rule.name, "critical", revoked=reason)
        for rule in self.rules:
            if rule.matches(ident):
                return Decision(rule.action, rule.name, _SEVERITY[rule.action])
        return Decision(self.default, "default", _SEVERITY[self.default])


_SEVERITY = {"allow": "low", "alert": "high", "block": "critical"}
