"""The agent's configuration: read and validated once, at start (and on SIGHUP).

Every problem raises :class:`leakwarden.errors.ConfigError` naming the file and
the dotted key, so an operator can fix ``agent.yaml`` without reading code.
Unknown keys are errors too: a typo must not silently disable a monitor.
Relative paths are resolved against the directory of the config file.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


from leakwarden.errors import ConfigError
from leakwarden.yamlfile import parse_yaml, read_bytes


@dataclass(frozen=True)
class CollectorConfig:
    url: str | None = None
    enroll_secret: str | None = None
    enroll_token: str | None = None  # one-time token from `leakwarden agents` (used instead of the secret)
    ca_file: str | None = None
    tls_verify: bool = True
    batch_size: int = 500
    timeout: float = 15.0
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    gzip_min_bytes: int = 1024


@dataclass(frozen=True)
class FilesConfig:
    roots: tuple[str, ...] = ()
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ("*/.git/*", "*/.cache/*", "*~", "*.swp", "*/.leakwarden/*")
    settle: float = 0.3
    max_delay: float = 3.0
    catch_up: bool = True
    initial_scan: bool = True  # first time a root is seen: scan everything (true) or only record it (false)
    report_all: bool = False  # audit mode: an event for every written file, findings or not
    fanotify: str = "auto"  # auto | off
    queue_max: int = 200_000
    rescan_interval: float = 300.0  # roots we could not watch fully are rescanned this often
    root_check_interval: float = 5.0  # a missing or replaced root is looked for this often


@dataclass(frozen=True)
class DevicesConfig:
    enabled: bool = True
    policy: str | None = None
    removable_mounts: tuple[str, ...] = ()  # declared removable (test seam, odd hardware)
    remount_readonly: bool = True


@dataclass(frozen=True)
class NetworkConfig:
    enabled: bool = True
    destinations: str | None = None
    interval: float = 2.0
    capture: str = "auto"  # auto | off
    include_loopback: bool = False
    internal_networks: tuple[str, ...] = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
    read_send_window: float = 300.0
    alert_cooldown: float = 600.0


@dataclass(frozen=True)
class BaselinesConfig:
    """Behaviour baselines (detectors.ml.anomaly): outbound bytes and removable-media copies."""

    enabled: bool = True
    warmup_days: int = 7  # no verdicts until a host/process has this many days of history
    history_days: int = 28
    threshold: float = 3.5  # robust z of today's bytes against the median active day
    copy_threshold: float = 6.0
    min_bytes: int = 50_000_000  # below this nothing is anomalous
    min_files: int = 20  # files copied to removable media in a day
    new_destination_bytes: int = 200_000_000
    max_destinations: int = 5_000  # destinations with an hourly volume baseline (least recently seen go first)


@dataclass(frozen=True)
class BudgetConfig:
    workers: int = 2
    nice: int = 10
    max_file_size: int = 50 * 1024 * 1024
    behind_threshold: int = 5000  # pending scans above this: "scanner behind"


@dataclass(frozen=True)
class SpoolConfig:
    max_events: int = 200_000
    max_bytes: int = 256 * 1024 * 1024
    near_full: float = 0.8


@dataclass(frozen=True)
class AgentConfig:
    source: str
    state_dir: str
    host: str
    collector: CollectorConfig
    files: FilesConfig
    devices: DevicesConfig
    network: NetworkConfig
    budget: BudgetConfig
    spool: SpoolConfig
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    detection_policy: str | None = None
    scan: bool = True  # detection.scan: false turns content scanning off (activity only)
    hash_key: bytes = b""
    heartbeat_interval: float = 60.0
    log_level: str = "info"
    log_file: str | None = None
    config_hash: str = ""
    extra_hashed_files: tuple[str, ...] = field(default=())
    key_fingerprint: str | None = None  # keyed fingerprint of the hash key (never the key)


_SECTIONS = {
    "collector": CollectorConfig,
    "files": FilesConfig,
    "devices": DevicesConfig,
    "network": NetworkConfig,
    "budget": BudgetConfig,
    "spool": SpoolConfig,
    "baselines": BaselinesConfig,
}
_TOP = {"state_dir", "host", "detection", "heartbeat_interval", "log", *_SECTIONS}


class _Reader:
    def __init__(self, source: str, base: Path) -> None:
        self.source = source
        self.base = base

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, key, problem)

    def mapping(self, value: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping, got {type(value).__name__}")
        for k in value:
            if k not in allowed:
                raise self.fail(f"{key}.{k}" if key else str(k), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return value

    def path(self, value: Any, key: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(key, "must be a non-empty path string")
        p = Path(os.path.expanduser(value))
        return str(p if p.is_absolute() else (self.base / p).resolve())

    def section(self, cls: type, raw: Any, key: str) -> Any:
        fields = cls.__dataclass_fields__
        data = self.mapping(raw, key, set(fields))
        out: dict[str, Any] = {}
        for name, f in fields.items():
            if name not in data:
                continue
            value = data[name]
            default = f.default
            k = f"{key}.{name}"
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise self.fail(k, f"must be true or false, got {value!r}")
            elif isinstance(default, int):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise self.fail(k, f"must be a non-negative integer, got {value!r}")
            elif isinstance(default, float):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise self.fail(k, f"must be a non-negative number, got {value!r}")
                value = float(value)
            elif isinstance(default, tuple):
                if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                    raise self.fail(k, "must be a list of non-empty strings")
                value = tuple(value)
            elif value is not None and not isinstance(value, str):
                raise self.fail(k, f"must be a string, got {type(value).__name__}")
            out[name] = value
        return cls(**out)


def load_config(path: str | os.PathLike[str]) -> AgentConfig:
    """Read, validate and resolve ``agent.yaml``; raises ConfigError on any problem."""
    source = str(path)
    raw_bytes = read_bytes(source)
    raw = parse_yaml(raw_bytes, source)
    r = _Reader(source, Path(source).resolve().parent)
    top = r.mapping(raw, "", _TOP)
    sections = {name: r.section(cls, top.get(name), name) for name, cls in _SECTIONS.items()}

    collector: CollectorConfig = sections["collector"]
    if collector.url is not None and not collector.url.startswith(("http://", "https://")):
        raise r.fail("collector.url", f"must start with http:// or https://, got {collector.url!r}")
    if collector.ca_file:
        sections["collector"] = _replace(collector, ca_file=r.path(collector.ca_file, "collector.ca_file"))
    if collector.batch_size < 1 or collector.batch_size > 5000:
        raise r.fail("collector.batch_size", "must be between 1 and 5000 (the wire limit)")

    files: FilesConfig = sections["files"]
    roots = tuple(r.path(p, f"files.roots[{i}]") or "" for i, p in enumerate(files.roots))
    if files.fanotify not in ("auto", "off"):
        raise r.fail("files.fanotify", "must be auto or off")
    if files.settle > files.max_delay:
        raise r.fail("files.settle", f"must be <= files.max_delay ({files.max_delay:g}): a file is scanned at the "
                                     f"latest max_delay after its first write, so a longer settle would never apply")
    if files.root_check_interval <= 0:
        raise r.fail("files.root_check_interval", "must be > 0")
    sections["files"] = _replace(files, roots=roots)

    devices: DevicesConfig = sections["devices"]
    sections["devices"] = _replace(
        devices,
        policy=r.path(devices.policy, "devices.policy"),
        removable_mounts=tuple(r.path(p, "devices.removable_mounts") or "" for p in devices.removable_mounts),
    )
    network: NetworkConfig = sections["network"]
    if network.capture not in ("auto", "off"):
        raise r.fail("network.capture", "must be auto or off")
    for i, net in enumerate(network.internal_networks):
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError as e:
            raise r.fail(f"network.internal_networks[{i}]", f"not a network: {e}") from e
    if network.interval <= 0:
        raise r.fail("network.interval", "must be > 0")
    sections["network"] = _replace(network, destinations=r.path(network.destinations, "network.destinations"))

    budget: BudgetConfig = sections["budget"]
    if not 1 <= budget.workers <= 64:
        raise r.fail("budget.workers", "must be between 1 and 64")
    if budget.nice > 19:
        raise r.fail("budget.nice", "must be between 0 and 19")
    spool: SpoolConfig = sections["spool"]
    if not 0 < spool.near_full <= 1:
        raise r.fail("spool.near_full", "must be a fraction in (0, 1]")
    if spool.max_events < 10:
        raise r.fail("spool.max_events", "must be at least 10")
    baselines: BaselinesConfig = sections["baselines"]
    if baselines.history_days < 1:
        raise r.fail("baselines.history_days", "must be at least 1")
    if baselines.max_destinations < 10:
        raise r.fail("baselines.max_destinations", "must be at least 10")
    if baselines.threshold <= 0 or baselines.copy_threshold <= 0:
        raise r.fail("baselines.threshold" if baselines.threshold <= 0 else "baselines.copy_threshold", "must be > 0")

    detection = r.mapping(top.get("detection"), "detection", {"policy", "hash_key_file", "scan"})
    scan = detection.get("scan", True)
    if not isinstance(scan, bool):
        raise r.fail("detection.scan", "must be true or false")
    log = r.mapping(top.get("log"), "log", {"level", "file"})
    level = str(log.get("level", "info")).lower()
    if level not in ("debug", "info", "warning", "error"):
        raise r.fail("log.level", "must be debug, info, warning or error")
    state_dir = r.path(top.get("state_dir"), "state_dir")
    if not state_dir:
        raise r.fail("state_dir", "is required (where the spool, token and file index live)")
    hb = top.get("heartbeat_interval", 60)
    if isinstance(hb, bool) or not isinstance(hb, (int, float)) or hb <= 0:
        raise r.fail("heartbeat_interval", f"must be a positive number, got {hb!r}")
    host = top.get("host") or os.uname().nodename
    if not isinstance(host, str):
        raise r.fail("host", "must be a string")

    hash_key = b""
    key_file = r.path(detection.get("hash_key_file"), "detection.hash_key_file")
    if key_file:
        try:
            hash_key = Path(key_file).read_bytes().strip()
        except OSError as e:
            raise r.fail("detection.hash_key_file", f"cannot read {key_file}: {e.strerror}") from e
        if len(hash_key) < 16:
            raise r.fail("detection.hash_key_file", "key must be at least 16 bytes")

    policy = r.path(detection.get("policy"), "detection.policy")
    # Everything that changes what the agent decides is in the hash, so a swapped file shows in heartbeats.
    referenced = {"detection.policy": policy, "devices.policy": sections["devices"].policy,
                  "network.destinations": sections["network"].destinations}
    digest = hashlib.sha256(raw_bytes)
    for key, p in referenced.items():
        if not p:
            continue
        try:
            digest.update(key.encode() + b"\0" + Path(p).read_bytes())
        except OSError as e:
            raise r.fail(key, f"cannot read referenced file {p}: {e.strerror}") from e
    model = _model_file(policy, scan) if scan else None
    if model is not None:
        try:
            digest.update(b"ml.model\0" + Path(model[1]).read_bytes())
        except OSError as e:
            raise ConfigError(model[0], "ml.model", f"cannot read model file {model[1]}: {e.strerror}") from e
    fingerprint = key_fingerprint(hash_key) if hash_key else None
    if fingerprint:
        digest.update(b"hash_key\0" + fingerprint.encode())
    hashed = tuple(p for p in referenced.values() if p) + ((model[1],) if model else ())

    return AgentConfig(
        source=source,
        state_dir=state_dir,
        host=host,
        detection_policy=policy,
        scan=scan,
        hash_key=hash_key,
        heartbeat_interval=float(hb),
        log_level=level,
        log_file=r.path(log.get("file"), "log.file"),
        config_hash=digest.hexdigest(),
        extra_hashed_files=hashed,
        key_fingerprint=fingerprint,
        **sections,
    )


def key_fingerprint(key: bytes) -> str:
    """HMAC of a fixed label under the key: tells keys apart in heartbeats, reveals nothing of the key."""
    return hmac.new(key, b"leakwarden agent hash-key fingerprint", hashlib.sha256).hexdigest()[:16]


def _model_file(policy: str | None, scan: bool) -> tuple[str, str] | None:
    """(policy source, model path) of the ML model the detection policy enables, else None.

    Loading the policy here also validates it: its errors name the policy file and key.
    """
    from detectors.policy import load_policy  # imported here: `leakwarden agent --help` stays light

    pol = load_policy(policy)
    if not scan or not pol.ml.enabled or not pol.is_enabled("ml.sensitive_document"):
        return None
    from detectors.ml.model import default_model_path

    return pol.source, str(pol.ml.model or default_model_path())


def missing_roots(cfg: AgentConfig) -> list[tuple[str, str]]:
    """(key, root) of configured roots that are not folders now: watched once they appear."""
    return [(f"files.roots[{i}]", root) for i, root in enumerate(cfg.files.roots) if not os.path.isdir(root)]


def _replace(obj: Any, **changes: Any) -> Any:
    return replace(obj, **changes)
