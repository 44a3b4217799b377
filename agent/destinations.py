"""Destination categories (configs/destinations.yaml): which host names are AI
services, cloud storage, instant messaging, webmail or paste sites.

Regulation art. 21 forbids processing state secrets with instant messaging,
social media, storage services, OCR programs and AI products; the pack marks
such categories ``forbidden`` so a connection to them raises an alert.
Matching is by domain suffix (``openai.com`` matches ``api.openai.com``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


from leakwarden.errors import ConfigError
from leakwarden.yamlfile import read_yaml

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}$")


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    forbidden: bool
    description: str


class Destinations:
    def __init__(self, categories: dict[str, Category], domains: dict[str, str]) -> None:
        self.categories = categories
        self._domains = domains  # domain suffix -> category name

    @classmethod
    def empty(cls) -> "Destinations":
        return cls({}, {})

    @classmethod
    def load(cls, path: str) -> "Destinations":
        raw = read_yaml(path)
        if not isinstance(raw, dict) or not isinstance(raw.get("categories"), dict):
            raise ConfigError(path, "categories", "must be a mapping of category name to {forbidden, domains}")
        categories: dict[str, Category] = {}
        domains: dict[str, str] = {}
        for name, spec in raw["categories"].items():
            key = f"categories.{name}"
            if not isinstance(spec, dict):
                raise ConfigError(path, key, "must be a mapping")
            unknown = set(spec) - {"forbidden", "description", "domains"}
            if unknown:
                raise ConfigError(path, f"{key}.{sorted(unknown)[0]}", "unknown key (allowed: description, domains, forbidden)")
            forbidden = spec.get("forbidden", False)
            if not isinstance(forbidden, bool):
                raise ConfigError(path, f"{key}.forbidden", "must be true or false")
            doms = spec.get("domains")
            if not isinstance(doms, list) or not doms:
                raise ConfigError(path, f"{key}.domains", "must be a non-empty list of domain names")
            for i, d in enumerate(doms):
                if not isinstance(d, str) or not _DOMAIN.match(d.lower().strip(".")):
                    raise ConfigError(path, f"{key}.domains[{i}]", f"not a domain name: {d!r}")
                domains[d.lower().strip(".")] = str(name)
            categories[str(name)] = Category(str(name), forbidden, str(spec.get("description", "")))
        return cls(categories, domains)

    def categorize(self, host: str | None) -> Category | None:
        if not host:
            return None
        labels = host.lower().rstrip(".").split(".")
        for i in range(len(labels)):
            name = self._domains.get(".".join(labels[i:]))
            if name is not None:
                return self.categories[name]
        return None
