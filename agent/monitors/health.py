"""The agent's own pulse: a Tick on the queue every few seconds.

The pipeline turns ticks into heartbeats (every ``heartbeat_interval``) and
runs its periodic checks on them (spool near full, scanner behind, roots
left to rescans). The tick goes through the same queue as everything else,
so a stalled dispatcher shows up as missing heartbeats at the collector.
"""

from __future__ import annotations

import queue
import threading
import time

from agent.events import Tick


class HealthMonitor:
    name = "health"

    def __init__(self, out: "queue.Queue[object]", period: float = 1.0) -> None:
        self.out = out
        self.drops = 0
        self.period = period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.out.put(Tick(time.time()), timeout=self.period)
            except queue.Full:
                self.drops += 1  # the dispatcher is behind; the missing heartbeat is the signal
