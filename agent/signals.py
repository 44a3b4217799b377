"""SIGHUP/SIGTERM/SIGINT recorded, not acted on, until the agent is ready for them.

Installed first thing in ``leakwarden agent`` (before the config and the
detectors load, which takes a second or two): a signal that arrives during
start-up must neither kill the process undrained (the default action of
SIGHUP) nor interrupt start-up half-way. The daemon's main loop acts on what
was recorded, in order, once the agent has started.
"""

from __future__ import annotations

import signal
import threading


class SignalQueue:
    def __init__(self) -> None:
        self._wake = threading.Event()
        self._wanted: list[str] = []

    def install(self) -> "SignalQueue":
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._wanted.append("reload" if signum == signal.SIGHUP else "stop")
        self._wake.set()

    def next(self, timeout: float) -> str | None:
        """The oldest recorded request ("reload" or "stop"), waiting up to ``timeout`` for one."""
        if not self._wanted:
            self._wake.wait(timeout)
            self._wake.clear()
        return self._wanted.pop(0) if self._wanted else None
