"""A JSON-lines file for Filebeat, Fluent Bit or Vector: one OCSF document per line.

Each line is flushed and fsync'd before the delivery counts as done, so a
power cut cannot lose an alert the outbox already marked delivered. The file
rotates by size (``path`` -> ``path.1`` -> ... ``path.<keep>``), which the
log shippers' file inputs follow by inode.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from leakwarden.errors import DeliveryError
from server.forward.alert import AlertView
from server.forward.destination import COMMON_KEYS, Delivery, Resources
from server.forward.options import Section
from server.forward.schema import to_ocsf
from server.forward.templates import Message


@dataclass(frozen=True, slots=True)
class Settings:
    path: Path
    max_bytes: int
    keep: int
    fsync: bool


def parse(s: Section) -> Settings:
    s.only(COMMON_KEYS | {"path", "max_bytes", "keep", "fsync"})
    path = Path(s.str("path"))
    if path.exists() and not path.is_file():
        raise s.error("path", f"{path} exists and is not a regular file")
    if path.parent.exists() and not path.parent.is_dir():
        raise s.error("path", f"{path.parent} is not a directory")
    return Settings(path=path, max_bytes=s.int("max_bytes", 100 * 1024 * 1024, min=4096),
                    keep=s.int("keep", 5, min=1, max=1000), fsync=s.bool("fsync", True))


def build(settings: Settings, alert: AlertView, message: Message, key: str) -> dict[str, Any]:
    return to_ocsf(alert, title=message.title, description=message.body, uid=key)


class Sender:
    def __init__(self, settings: Settings, resources: Resources) -> None:
        self.settings = settings
        self._lock = asyncio.Lock()
        self._fh: IO[bytes] | None = None

    async def send(self, payload: dict[str, Any], delivery: Delivery) -> None:
        line = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        async with self._lock:
            try:
                await asyncio.to_thread(self._write, line)
            except OSError as e:
                self._close()
                raise DeliveryError(f"jsonl {self.settings.path}: {e.strerror or e}") from e

    def _write(self, line: bytes) -> None:
        s = self.settings
        if self._fh is None:
            s.path.parent.mkdir(parents=True, exist_ok=True)  # e.g. the data dir on a first start
            self._fh = open(s.path, "ab")
        if self._fh.tell() and self._fh.tell() + len(line) > s.max_bytes:
            self._rotate()
        self._fh.write(line)
        self._fh.flush()
        if s.fsync:
            os.fsync(self._fh.fileno())

    def _rotate(self) -> None:
        s = self.settings
        self._close()
        for i in range(s.keep - 1, 0, -1):
            older = s.path.with_name(f"{s.path.name}.{i}")
            if older.exists():
                os.replace(older, s.path.with_name(f"{s.path.name}.{i + 1}"))
        os.replace(s.path, s.path.with_name(f"{s.path.name}.1"))
        if s.fsync:  # make the renames durable too
            fd = os.open(s.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self._fh = open(s.path, "ab")

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    async def close(self) -> None:
        async with self._lock:
            self._close()
