"""What monitors put on the pipeline's queue: small frozen records, nothing else.

Monitors observe; they never scan, decide or spool. Keeping their output to
these immutable records makes the single dispatcher (:mod:`agent.pipeline`)
the only place where policy lives, and lets tests feed it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FileAction = Literal["write", "create", "move", "delete", "moved_out", "catchup"]


@dataclass(frozen=True, slots=True)
class FileActivity:
    """A path changed under a watched root.

    ``action`` "write" covers modify and close-after-write; the dispatcher
    debounces them. ``old_path`` is set for moves (None when moved in from
    outside the watched roots). "moved_out": renamed to a place outside the
    watched roots (inotify IN_MOVED_FROM without its IN_MOVED_TO). ``catch_up``:
    found by a walk (start-up catch-up, rescan), not by inotify.
    """

    action: FileAction
    path: str
    root: str
    old_path: str | None = None
    time: float = 0.0
    closed: bool = False  # close-after-write: the writer is done
    catch_up: bool = False


@dataclass(frozen=True, slots=True)
class FileAccess:
    """fanotify told us which process opened or wrote a path (root only)."""

    path: str
    pid: int
    write: bool
    time: float
    process: str | None = None
    exe: str | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class RootOverflow:
    """Events of a root were lost (kernel or agent queue overflow): rescan it."""

    root: str
    source: str  # "inotify" | "agent-queue"
    time: float


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """A filesystem was mounted or unmounted."""

    action: Literal["mount", "unmount"]
    mountpoint: str
    source: str
    fstype: str
    removable: bool
    identity: dict[str, Any] = field(default_factory=dict)
    time: float = 0.0


@dataclass(frozen=True, slots=True)
class UsbChange:
    """A USB device was plugged in or removed, mounted or not (``sysname``: its bus port, e.g. "1-1.2").

    ``at_start``: already attached when the monitor started."""

    action: Literal["attach", "detach"]
    sysname: str
    identity: dict[str, Any] = field(default_factory=dict)
    time: float = 0.0
    at_start: bool = False


@dataclass(frozen=True, slots=True)
class NetConnection:
    """Outbound bytes of one process towards one destination in one interval."""

    pid: int | None
    process: str | None
    exe: str | None
    user: str | None
    ip: str
    port: int
    bytes_sent: int  # since the previous sample
    new: bool  # first time this connection was seen
    time: float


@dataclass(frozen=True, slots=True)
class NameSeen:
    """A DNS answer or a TLS SNI tied an address to a host name."""

    ip: str
    name: str
    source: Literal["dns", "sni"]
    time: float


@dataclass(frozen=True, slots=True)
class MonitorState:
    """A monitor reports its own state: ok, degraded (with a reason) or off."""

    monitor: str
    state: Literal["ok", "degraded", "off"]
    reason: str | None = None
    time: float = 0.0


@dataclass(frozen=True, slots=True)
class Tick:
    """Health timer: time for a heartbeat and the periodic checks."""

    time: float


MonitorEvent = FileActivity | FileAccess | RootOverflow | DeviceChange | UsbChange | NetConnection | NameSeen | MonitorState | Tick
