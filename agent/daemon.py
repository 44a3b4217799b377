"""The agent process: wires monitors, the pipeline, the spool and the shipper.

Start-up order matters: the spool and index open first (so nothing observed
is lost), then monitors start, then the catch-up scan of what changed while
the agent was down, then the shipper (which enrolls on first start).
SIGHUP reloads the config (a bad new config is logged and the old one kept);
SIGTERM/SIGINT drain: monitors stop, queued work is scanned and spooled,
the shipper gets a few seconds to empty the spool, then the process exits.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import signal
import threading
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, load_config
from agent.destinations import Destinations
from agent.devicepolicy import DevicePolicy
from agent.events import MonitorState
from agent.index import Index
from agent.monitors.capture import CaptureMonitor
from agent.monitors.devices import DevicesMonitor
from agent.monitors.fanotify import FanotifyMonitor
from agent.monitors.files import FilesMonitor
from agent.monitors.health import HealthMonitor
from agent.monitors.network import NetworkMonitor
from agent.pipeline import Pipeline
from agent.scanning import ContentScanner
from agent.shipper import Shipper
from agent.spool import Spool
from detectors.ml.anomaly import BaselineError, Baselines
from leakwarden import __version__
from leakwarden.errors import ConfigError

log = logging.getLogger("agent")


CAP_NET_RAW, CAP_SYS_ADMIN = 13, 21


def capabilities() -> int:
    """The effective capability mask: what the kernel will allow, root or not."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return (1 << 64) - 1 if os.geteuid() == 0 else 0


def binary_hash() -> str:
    """SHA-256 over the agent's own code (agent, detectors, leakwarden packages): tamper evidence."""
    h = hashlib.sha256()
    base = Path(__file__).resolve().parent.parent
    for pkg in ("agent", "detectors", "leakwarden"):
        for p in sorted((base / pkg).rglob("*.py")):
            h.update(str(p.relative_to(base)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


class Agent:
    def __init__(self, cfg: AgentConfig) -> None:
        self.cfg = cfg
        caps = capabilities()
        # Privilege is what the kernel grants, not the uid: root in a container may lack both.
        self.can_fanotify = bool(caps & (1 << CAP_SYS_ADMIN))
        self.can_capture = bool(caps & (1 << CAP_NET_RAW))
        self.is_root = self.can_fanotify  # remount read-only needs CAP_SYS_ADMIN too
        self.monitors: list[Any] = []
        self.pipeline: Pipeline | None = None
        self.baselines: Baselines | None = None
        self.shipper: Shipper | None = None
        self._thread: threading.Thread | None = None
        self._shipper_state: tuple[str, str | None] | None = None
        self._binary_hash = binary_hash()

    # -- life cycle ------------------------------------------------------------
    def start(self) -> None:
        cfg = self.cfg
        state = Path(cfg.state_dir)
        state.mkdir(parents=True, exist_ok=True)
        os.chmod(state, 0o700)
        self.spool = Spool(state / "spool.db", max_events=cfg.spool.max_events, max_bytes=cfg.spool.max_bytes)
        self.index = Index(state / "index.db")
        hash_key = cfg.hash_key
        if not hash_key:
            from detectors.scan import load_hash_key

            hash_key = load_hash_key(None)
            log.warning("no detection.hash_key_file: using a per-machine key; hashes will not correlate across endpoints",
                        extra={"ctx": {}})
        scanner = ContentScanner(policy=cfg.detection_policy, hash_key=hash_key, index=self.index,
                                 max_file_size=cfg.budget.max_file_size, enabled=cfg.scan)
        destinations = Destinations.load(cfg.network.destinations) if cfg.network.destinations else Destinations.empty()
        device_policy = DevicePolicy.load(cfg.devices.policy) if cfg.devices.policy else DevicePolicy.default_policy()
        self.inbox: queue.Queue[object] = queue.Queue(maxsize=cfg.files.queue_max)
        self.baselines = self._open_baselines(state / "baselines.sqlite3")

        reduced = []
        files = FilesMonitor(self.inbox, cfg.files.include, cfg.files.exclude)
        self.monitors.append(files)
        fan = None
        if cfg.files.fanotify == "auto" and self.can_fanotify:
            fan = FanotifyMonitor(self.inbox)
        elif cfg.files.fanotify == "auto":
            reduced.append("fanotify (writer pid)")
            self.inbox.put(MonitorState("fanotify", "off", "writer pid unavailable: not permitted (no CAP_SYS_ADMIN)"))
        else:
            self.inbox.put(MonitorState("fanotify", "off", None))
        self.shipper = Shipper(cfg.collector, self.spool, state_dir=cfg.state_dir, host=cfg.host, set_state=self._on_shipper_state)
        self.pipeline = Pipeline(
            cfg, inbox=self.inbox, spool=self.spool, index=self.index, scanner=scanner, destinations=destinations,
            device_policy=device_policy, files=files, fanotify=fan, notify=self.shipper.notify,
            version=__version__, binary_hash=self._binary_hash, is_root=self.is_root, baselines=self.baselines,
        )
        files.start()
        for root in cfg.files.roots:
            files.add_root(root)
        self.inbox.put(MonitorState("files", "ok", None))
        if fan is not None and fan.start(list(cfg.files.roots)):
            self.monitors.append(fan)
            for path in list(self.index.sensitive)[: fan.MAX_READ_MARKS]:
                fan.watch_reads(path)
        if cfg.devices.enabled:
            devices = DevicesMonitor(self.inbox, cfg.devices.removable_mounts)
            devices.start()
            self.monitors.append(devices)
        else:
            self.inbox.put(MonitorState("devices", "off", None))
        if cfg.network.enabled:
            net = NetworkMonitor(self.inbox, interval=cfg.network.interval, include_loopback=cfg.network.include_loopback)
            net.start()
            self.monitors.append(net)
            if cfg.network.capture == "auto" and self.can_capture:
                cap = CaptureMonitor(self.inbox)
                if cap.start():
                    self.monitors.append(cap)
            elif cfg.network.capture == "auto":
                reduced.append("DNS/SNI capture")
                self.inbox.put(MonitorState("capture", "off", "DNS/SNI capture not permitted (no CAP_NET_RAW)"))
        else:
            self.inbox.put(MonitorState("network", "off", None))
        if not self.is_root:
            reduced.append("remount read-only of blocked media")
        health = HealthMonitor(self.inbox)
        health.start()
        self.monitors.append(health)
        self.inbox.put(MonitorState("health", "ok", None))
        privilege = "privileged" if self.can_fanotify and self.can_capture else f"unprivileged (uid {os.geteuid()}, reduced capabilities)"
        log.info("agent started", extra={"ctx": {"version": __version__, "privilege": privilege, "reduced_monitors": reduced,
                                                  "roots": list(cfg.files.roots), "config": cfg.source}})
        self.pipeline.event("agent.started", "agent", 4, attributes={
            "version": __version__, "privilege": privilege, "reduced_monitors": reduced, "config_hash": cfg.config_hash,
            "binary_hash": self._binary_hash, "last_seq_before": self.spool.last_seq(), "scanning": cfg.scan})
        if cfg.files.catch_up:
            for root in cfg.files.roots:
                self.pipeline.catch_up(root, initial_scan=cfg.files.initial_scan)
        self._thread = threading.Thread(target=self.pipeline.run, name="pipeline", daemon=True)
        self._thread.start()
        self.shipper.start()

    def _open_baselines(self, path: Path) -> Baselines | None:
        b = self.cfg.baselines
        if not b.enabled:
            self.inbox.put(MonitorState("baselines", "off", None))
            return None
        try:
            baselines = Baselines(path, warmup_days=b.warmup_days, history_days=b.history_days, threshold=b.threshold,
                                  copy_threshold=b.copy_threshold, min_bytes=b.min_bytes, min_files=b.min_files,
                                  new_destination_bytes=b.new_destination_bytes)
        except BaselineError as e:
            # The file is left as it is for the operator to look at; everything else keeps working.
            log.error("behaviour baselines unavailable", extra={"ctx": {"error": str(e)}})
            self.inbox.put(MonitorState("baselines", "degraded", f"behaviour baselines unavailable: {e}"))
            return None
        self.inbox.put(MonitorState("baselines", "ok", None))
        return baselines

    def _on_shipper_state(self, state: str, reason: str | None) -> None:
        if self._shipper_state == (state, reason):
            return
        self._shipper_state = (state, reason)
        try:
            self.inbox.put_nowait(MonitorState("shipper", state, reason))  # type: ignore[arg-type]
        except queue.Full:
            pass

    def stop(self, drain_timeout: float = 5.0) -> None:
        if self.pipeline is None:
            return
        for m in reversed(self.monitors):
            m.stop()
        self.monitors = []
        if self.pipeline is not None:
            self.pipeline.stop()
        if self._thread is not None:
            self._thread.join(timeout=60)
        if self.shipper is not None:
            self.shipper.stop(drain_timeout=drain_timeout)
        depth = self.spool.depth
        self.spool.close()
        self.index.close()
        if self.baselines is not None:
            self.baselines.close()
        self.pipeline = None
        log.info("agent stopped", extra={"ctx": {"spool_depth_left": depth}})

    def reload(self) -> bool:
        try:
            new = load_config(self.cfg.source)
        except ConfigError as e:
            log.error("reload refused: config invalid, keeping the running one", extra={"ctx": {"error": str(e)}})
            return False
        log.info("reloading", extra={"ctx": {"config_hash": new.config_hash}})
        self.stop(drain_timeout=0)
        self.cfg = new
        self.start()
        return True


def run(cfg: AgentConfig) -> int:
    """Run until SIGTERM/SIGINT; SIGHUP reloads."""
    agent = Agent(cfg)
    agent.start()
    wake = threading.Event()
    wanted: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        wanted.append("reload" if signum == signal.SIGHUP else "stop")
        wake.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    while True:
        wake.wait()
        wake.clear()
        while wanted:
            what = wanted.pop(0)
            if what == "stop":
                agent.stop(drain_timeout=10.0)
                return 0
            agent.reload()
