"""What every destination provides: settings, a pure payload builder and a sender.

A destination module holds three things: ``parse(section) -> Settings``,
``build(settings, alert, message, key) -> dict`` (pure: no I/O, no clock, the
dict is stored in the outbox as it is) and a ``Sender`` class that delivers a
stored payload. Keeping the builder pure means the payload a responder gets is
exactly what tests assert and what admins see in the dead-letter list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from server.forward.alert import AlertView
from server.forward.templates import Message

# Options every destination accepts besides its own.
COMMON_KEYS = frozenset({"type", "rate_limit", "max_attempts", "enabled"})


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt at one outbox item."""

    key: str  # idempotency key: stable across retries and processes
    alert_id: str
    attempt: int  # 1 for the first try


@dataclass(slots=True)
class Resources:
    """Shared by all senders of one collector process."""

    http: aiohttp.ClientSession


class Sender(Protocol):
    async def send(self, payload: dict[str, Any], delivery: Delivery) -> None:
        """Deliver or raise :class:`leakwarden.errors.DeliveryError`."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DestinationType:
    name: str
    parse: Callable[[Any], Any]  # Section -> settings
    build: Callable[[Any, AlertView, Message, str], dict[str, Any]]
    sender: Callable[[Any, Resources], Sender]
    description: str
