"""The agent process: wires monitors, the pipeline, the spool and the shipper.

Start-up order matters: the spool and index open first (so nothing observed
is lost), then monitors start, then the catch-up scan of what changed while
the agent was down, then the shipper (which enrolls on first start).
SIGHUP reloads the config: agent.yaml and everything it names (device and
destination policies, detection policy, ML model) are loaded first, and any
error is logged (file and key) with the running configuration kept; mounted
removable media carry over (no second device.mount). SIGTERM/SIGINT drain:
monitors stop, queued work is scanned and spooled, the shipper gets a few
seconds to empty the spool, then the process exits. Signal handlers are
installed before start-up; a signal that arrives during it acts once the
agent has started.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import sys
import threading
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, load_config, missing_roots
from agent.events import MonitorState
from agent.index import Index
from agent.monitors.capture import CaptureMonitor
from agent.monitors.devices import DevicesMonitor
from agent.monitors.fanotify import FanotifyMonitor
from agent.monitors.files import FilesMonitor
from agent.monitors.health import HealthMonitor
from agent.monitors.network import NetworkMonitor
from agent.logs import setup_logging
from agent.pipeline import Pipeline
from agent.policies import Policies, load_policies
from agent.scanning import ContentScanner
from agent.signals import SignalQueue
from agent.shipper import Shipper
from agent.spool import Spool
from detectors.ml.anomaly import BaselineError, Baselines
from leakwarden import __version__
from leakwarden.errors import LeakWardenError

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
    """SHA-256 over the agent's own code (agent, detectors, leakwarden packages) and the ML model
    shipped with it (*.skops): tamper evidence. A model configured elsewhere is in config_hash."""
    h = hashlib.sha256()
    base = Path(__file__).resolve().parent.parent
    for pkg in ("agent", "detectors", "leakwarden"):
        for p in sorted([*(base / pkg).rglob("*.py"), *(base / pkg).rglob("*.skops")]):
            h.update(str(p.relative_to(base)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


class Agent:
    def __init__(self, cfg: AgentConfig, policies: Policies | None = None) -> None:
        self.cfg = cfg
        self.policies = policies  # loaded at start when not given
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
        # Removable media reported before a reload: (mount table, mountpoint -> device), carried over.
        self._carried: tuple[dict[str, tuple[str, str]], dict[str, Any]] | None = None

    # -- life cycle ------------------------------------------------------------
    def start(self) -> None:
        cfg = self.cfg
        if self.policies is None:
            self.policies = load_policies(cfg)
        pol = self.policies
        self.pipeline = self.shipper = self.baselines = None
        self._thread = None
        state = Path(cfg.state_dir)
        try:
            state.mkdir(parents=True, exist_ok=True)
            os.chmod(state, 0o700)
        except OSError as e:
            raise LeakWardenError(f"state_dir {state}: {e.strerror}") from e
        self.spool = Spool(state / "spool.db", max_events=cfg.spool.max_events, max_bytes=cfg.spool.max_bytes)
        self.index = Index(state / "index.db")
        if not cfg.hash_key:
            log.warning("no detection.hash_key_file: using a per-machine key; hashes will not correlate across endpoints",
                        extra={"ctx": {}})
        for key, root in missing_roots(cfg):
            log.warning("watched root does not exist (yet): watched once it appears",
                        extra={"ctx": {"key": key, "root": root, "retry_s": cfg.files.root_check_interval}})
        scanner = ContentScanner(policy=cfg.detection_policy, hash_key=pol.hash_key, index=self.index,
                                 max_file_size=cfg.budget.max_file_size, enabled=cfg.scan, detector=pol.detector)
        destinations, device_policy = pol.destinations, pol.devices
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
            monitor_drops=self.monitor_drops,
        )
        files.start()
        # "ok" first: a root the kernel refuses (watch limit) reports degraded after it, in queue order.
        self.inbox.put(MonitorState("files", "ok", None))
        for root in cfg.files.roots:
            if FilesMonitor.folder_id(root) is not None:
                files.add_root(root)
        self.pipeline.check_roots()  # missing roots: degraded, naming them, looked for again periodically
        carried, self._carried = self._carried, None
        if carried is not None and cfg.devices.enabled:
            for mountpoint, device in carried[1].items():
                self.pipeline.resume_removable(mountpoint, device)
        if fan is not None and fan.start(list(cfg.files.roots)):
            self.monitors.append(fan)
            for path in list(self.index.sensitive)[: fan.MAX_READ_MARKS]:
                fan.watch_reads(path)
        if cfg.devices.enabled:
            known = None
            if carried is not None:
                # Mounts already reported stay known, except those newly declared removable (reported now).
                known = {mp: v for mp, v in carried[0].items()
                         if mp in carried[1] or not any(mp == d or mp.startswith(d.rstrip("/") + "/")
                                                        for d in cfg.devices.removable_mounts)}
            devices = DevicesMonitor(self.inbox, cfg.devices.removable_mounts, known_mounts=known)
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
                if root in files.roots:  # a missing root is walked when it appears (check_roots)
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
                                  new_destination_bytes=b.new_destination_bytes, max_destinations=b.max_destinations)
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

    def monitor_drops(self) -> dict[str, int]:
        """Records each monitor could not put on the full agent queue (heartbeat ``monitor_drops``)."""
        return {m.name: m.drops for m in list(self.monitors) if hasattr(m, "drops")}

    def stop(self, drain_timeout: float = 5.0, *, carry_devices: bool = False) -> None:
        if self.pipeline is None:
            return
        if carry_devices:
            dev = next((m for m in self.monitors if isinstance(m, DevicesMonitor)), None)
            if dev is not None:
                self._carried = (dict(dev.mounts), dict(self.pipeline.removable))
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
        """Load and check everything first; only a complete, valid new configuration replaces the running one."""
        try:
            new = load_config(self.cfg.source)
            policies = load_policies(new)
        except LeakWardenError as e:
            log.error("reload refused: configuration invalid, keeping the running one", extra={"ctx": {
                "error": str(e), "file": getattr(e, "source", None), "key": getattr(e, "key", None)}})
            return False
        except Exception as e:  # an unexpected failure while loading must not cost the running agent either
            log.exception("reload refused: configuration could not be loaded, keeping the running one",
                          extra={"ctx": {"error": f"{type(e).__name__}: {e}"}})
            return False
        log.info("reloading", extra={"ctx": {"config_hash": new.config_hash}})
        old_cfg, old_policies = self.cfg, self.policies
        self.stop(drain_timeout=0, carry_devices=True)
        carried = self._carried
        setup_logging(new.log_level, new.log_file)
        self.cfg, self.policies = new, policies
        try:
            self.start()
        except Exception as e:
            # e.g. a new state_dir that cannot be created: back to what ran before.
            log.error("reload failed at start, restarting with the previous configuration",
                      extra={"ctx": {"error": f"{type(e).__name__}: {e}"}}, exc_info=not isinstance(e, LeakWardenError))
            self._abandon()
            self.cfg, self.policies, self._carried = old_cfg, old_policies, carried
            setup_logging(old_cfg.log_level, old_cfg.log_file)
            self.start()
            return False
        log.info("reloaded", extra={"ctx": {"config_hash": new.config_hash, "log_level": new.log_level}})
        return True

    def _abandon(self) -> None:
        """Undo a start that failed half-way: stop what it started, close what it opened."""
        for m in reversed(self.monitors):
            try:
                m.stop()
            except Exception:
                log.exception("monitor stop failed")
        self.monitors = []
        if self.pipeline is not None:
            self.pipeline.stop()
            if self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=60)
        if self.shipper is not None and self.shipper._thread is not None:
            self.shipper.stop()
        for store in (getattr(self, "spool", None), getattr(self, "index", None), self.baselines):
            if store is not None:
                store.close()
        self.pipeline = self.shipper = self.baselines = None
        self._thread = None


def run(cfg: AgentConfig, signals: SignalQueue | None = None) -> int:
    """Run until SIGTERM/SIGINT; SIGHUP reloads.

    ``signals`` were installed before the config was read (``leakwarden agent`` does it first
    thing): a signal during start-up is acted on once start-up has finished, instead of killing
    the process with nothing drained.
    """
    signals = signals or SignalQueue().install()
    log.info("agent starting", extra={"ctx": {"config": cfg.source, "pid": os.getpid()}})
    agent = Agent(cfg)
    try:
        agent.start()
    except LeakWardenError as e:
        log.error("agent cannot start", extra={"ctx": {"error": str(e)}})
        print(f"leakwarden agent: {e}", file=sys.stderr)
        agent._abandon()
        return 2
    while True:
        what = signals.next(1.0)
        if what == "stop":
            agent.stop(drain_timeout=10.0)
            return 0
        if what == "reload":
            agent.reload()
