"""Reading the YAML files operators write (configs, policies, rule packs).

One place that turns I/O and syntax failures into a :class:`ConfigError`
naming the file, so every loader reports them the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from leakwarden.errors import ConfigError


def parse_yaml(data: str | bytes, source: str) -> Any:
    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as e:
        raise ConfigError(source, "", f"not valid YAML: {e}") from e


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(str(path), "", f"cannot read: {e.strerror}") from e


def read_yaml(path: str | os.PathLike[str]) -> Any:
    return parse_yaml(read_bytes(path), str(path))
