"""The collector's configuration: read once at start, validated, immutable.

Every problem raises :class:`leakwarden.errors.ConfigError` naming the file and
the dotted key, so an operator can fix it without reading code.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from leakwarden.errors import ConfigError
from leakwarden.yamlfile import read_yaml

# The store's LEVELS, repeated rather than imported: importing server.store from here makes a cycle
# (server.store -> server.grading -> server.config) whenever this module is imported first.
LEVELS: tuple[str, ...] = ("low", "medium", "high", "critical")

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "configs" / "server.yaml"


@dataclass(frozen=True, slots=True)
class RateLimit:
    rate: float  # tokens per second
    burst: float


@dataclass(frozen=True, slots=True)
class GradingConfig:
    severity: dict[str, float]  # points for the worst finding at confidence 1.0
    volume_per_doubling: float  # points per doubling of the finding count
    volume_max: float
    marking: dict[str, float]  # marking level -> points
    channel: dict[str, float]  # local, archive, disguise, removable, network, network_risky
    risky_categories: tuple[str, ...]  # destination categories graded as network_risky
    container: dict[str, float]  # container.encrypted, container.disguised, container.limit_exceeded
    watchlist_points: float
    watch_users: frozenset[str]
    watch_hosts: frozenset[str]
    repetition_per_alert: float
    repetition_max: float
    repetition_window: float
    incident_step: float  # points each further step of an incident adds
    thresholds: dict[str, float]  # level -> minimum score (medium/high/critical)
    event_base: dict[str, float]  # points for alertable events without findings


@dataclass(frozen=True, slots=True)
class ServerConfig:
    source: str
    host: str = "127.0.0.1"
    port: int = 8443
    tls_cert: Path | None = None
    tls_key: Path | None = None
    data_dir: Path = Path("data/collector")
    database: str | None = None  # postgresql://... ; None => SQLite in data_dir
    public_url: str | None = None
    enroll_secret: str | None = None
    enroll_token_ttl: float = 7 * 86400
    heartbeat_interval: float = 60.0
    offline_after: float = 300.0
    offline_check_interval: float = 30.0
    clock_skew_tolerance: float = 300.0  # |agent clock - collector clock| beyond this raises agent.clock_skew
    clock_skew_confirm: float = 10.0  # a "behind" reading must persist this long (a drained backlog looks the same)
    expected_config_hashes: frozenset[str] = frozenset()
    expected_binary_hashes: frozenset[str] = frozenset()
    pin_first_seen: bool = True
    max_body_bytes: int = 8 * 1024 * 1024  # after decompression
    body_timeout: float = 30.0
    ingest_rate: RateLimit = RateLimit(rate=20.0, burst=40.0)  # batches per agent
    session_ttl: float = 8 * 3600
    login_rate: RateLimit = RateLimit(rate=5 / 300, burst=5.0)  # attempts per username+address
    incident_window: float = 24 * 3600
    sla: dict[str, float] = field(default_factory=lambda: {"critical": 3600.0, "high": 4 * 3600.0,
                                                           "medium": 24 * 3600.0, "low": 7 * 86400.0})
    retention_events_days: float = 90.0
    retention_alerts_days: float = 365.0
    retention_interval: float = 3600.0
    review_max_bytes: int = 20 * 1024 * 1024
    review_policy: Path | None = None
    hash_key_file: Path | None = None
    log_level: str = "info"
    metrics_token: str | None = None
    grading: GradingConfig = None  # type: ignore[assignment]  # always set by load/defaults
    #: sections owned and validated by other areas (server/forward, server/dashboard), passed through raw
    forward: Any = None
    dashboard: Any = None

    def with_overrides(self, **changes: Any) -> "ServerConfig":
        return replace(self, **changes)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "collector.sqlite3"


class _Reader:
    """Walks a YAML mapping, remembering the dotted key for error messages."""

    def __init__(self, source: str, data: Any, prefix: str = "") -> None:
        self.source, self.prefix = source, prefix
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(source, prefix or "(top)", "must be a mapping")
        self.data = data
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.source, self.key(name), problem)

    def get(self, name: str, default: Any) -> Any:
        self.seen.add(name)
        return self.data.get(name, default)

    def section_text(self, name: str, key: str) -> str | None:
        sub = self.section(name)
        value = sub.text(key, None)
        sub.done()
        return value

    def section(self, name: str) -> "_Reader":
        return _Reader(self.source, self.get(name, {}), self.key(name))

    def num(self, name: str, default: float, *, minimum: float = 0.0, integer: bool = False) -> Any:
        value = self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(name, f"must be a number, got {value!r}")
        if value < minimum:
            raise self.error(name, f"must be >= {minimum}, got {value}")
        if integer:
            if value != int(value):
                raise self.error(name, f"must be a whole number, got {value}")
            return int(value)
        return float(value)

    def text(self, name: str, default: str | None, *, choices: tuple[str, ...] | None = None) -> str | None:
        value = self.get(name, default)
        if value is not None and not isinstance(value, str):
            raise self.error(name, f"must be a string, got {value!r}")
        if choices and value not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name, default)
        if not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {value!r}")
        return value

    def strings(self, name: str) -> frozenset[str]:
        value = self.get(name, [])
        if value is None:
            return frozenset()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(name, "must be a list of strings")
        return frozenset(value)

    def path(self, name: str, default: Path | None = None) -> Path | None:
        value = self.text(name, None if default is None else str(default))
        return None if value is None else Path(os.path.expanduser(value))

    def numbers(self, name: str, default: dict[str, float], keys: tuple[str, ...] | None = None) -> dict[str, float]:
        sub = self.section(name)
        allowed = keys or tuple(default)
        out = dict(default)
        for k in sub.data:
            if k not in allowed:
                raise sub.error(str(k), f"unknown key (expected one of {', '.join(allowed)})")
            out[k] = sub.num(k, default.get(k, 0.0))
        return out

    def done(self) -> None:
        unknown = sorted(set(map(str, self.data)) - self.seen)
        if unknown:
            raise self.error(unknown[0], "unknown key")


DEFAULT_GRADING = GradingConfig(
    severity={"low": 10, "medium": 25, "high": 40, "critical": 55},
    volume_per_doubling=3.0, volume_max=20.0,
    marking={"绝密": 45, "机密": 35, "秘密": 25, "工作秘密": 12, "corporate": 6,
             "TOP SECRET": 45, "SECRET": 30, "CONFIDENTIAL": 20},
    channel={"local": 0, "archive": 5, "disguise": 8, "removable": 15, "network": 10, "network_risky": 20},
    risky_categories=("unknown", "ai", "cloud", "cloud_storage", "im", "pastebin", "webmail", "forbidden"),
    container={"container.encrypted": 10, "container.disguised": 10, "container.limit_exceeded": 4},
    watchlist_points=15.0, watch_users=frozenset(), watch_hosts=frozenset(),
    repetition_per_alert=4.0, repetition_max=12.0, repetition_window=7 * 86400.0,
    incident_step=8.0,
    thresholds={"medium": 30, "high": 55, "critical": 80},
    event_base={"net.forbidden_destination": 35, "net.anomaly": 25, "device.attach": 10, "agent.gap": 35,
                "agent.tamper": 60, "agent.offline": 35, "agent.overflow": 30, "agent.spool_drop": 35,
                "agent.degraded": 15, "device.lost_seen": 85, "agent.clock_skew": 40},
)


def _grading(r: _Reader) -> GradingConfig:
    d = DEFAULT_GRADING
    watch = r.section("watchlist")
    rep = r.section("repetition")
    vol = r.section("volume")
    thresholds = r.numbers("thresholds", d.thresholds, ("medium", "high", "critical"))
    if not thresholds["medium"] < thresholds["high"] < thresholds["critical"] <= 100:
        raise r.error("thresholds", "need medium < high < critical <= 100")
    risky = r.get("risky_categories", list(d.risky_categories))
    if not isinstance(risky, list) or not all(isinstance(v, str) for v in risky):
        raise r.error("risky_categories", "must be a list of strings")
    g = GradingConfig(
        severity=r.numbers("severity", d.severity, LEVELS),
        volume_per_doubling=vol.num("per_doubling", d.volume_per_doubling),
        volume_max=vol.num("max", d.volume_max),
        marking=r.numbers("marking", d.marking),
        channel=r.numbers("channel", d.channel),
        risky_categories=tuple(risky),
        container=r.numbers("container", d.container),
        watchlist_points=watch.num("points", d.watchlist_points),
        watch_users=watch.strings("users"), watch_hosts=watch.strings("hosts"),
        repetition_per_alert=rep.num("per_alert", d.repetition_per_alert),
        repetition_max=rep.num("max", d.repetition_max),
        repetition_window=rep.num("window", d.repetition_window),
        incident_step=r.num("incident_step", d.incident_step),
        thresholds=thresholds,
        event_base=r.numbers("event_base", d.event_base),
    )
    for sub in (watch, rep, vol):
        sub.done()
    r.done()
    return g


def load(path: str | os.PathLike[str] | None = None, *, env: dict[str, str] | None = None) -> ServerConfig:
    """Read and validate the collector config (default ``configs/server.yaml``)."""
    p = Path(path) if path else DEFAULT_PATH
    source = str(p)
    return parse(read_yaml(source), source, env=env)


def parse(raw: Any, source: str = "<config>", *, env: dict[str, str] | None = None) -> ServerConfig:
    env = dict(os.environ if env is None else env)
    top = _Reader(source, raw)
    listen, tls, storage = top.section("listen"), top.section("tls"), top.section("storage")
    enroll, agents, ingest = top.section("enrollment"), top.section("agents"), top.section("ingest")
    auth, retention, review, logging_ = (top.section("auth"), top.section("retention"),
                                         top.section("review"), top.section("logging"))
    incidents = top.section("incidents")
    base = ServerConfig(source=source)

    database = storage.text("database", None)
    # a secret does not belong in a file under version control: allow the environment to supply it
    database = env.get("LEAKWARDEN_DATABASE") or database
    if database is not None and not database.startswith(("postgresql://", "postgres://")):
        raise storage.error("database", "must be a postgresql:// URL or absent (SQLite in data_dir)")
    secret = env.get("LEAKWARDEN_ENROLL_SECRET") or enroll.text("secret", None)
    if secret is not None and len(secret) < 16:
        raise enroll.error("secret", "must be at least 16 characters")

    def rate(r: _Reader, name: str, default: RateLimit) -> RateLimit:
        sub = r.section(name)
        out = RateLimit(rate=sub.num("per_second", default.rate), burst=sub.num("burst", default.burst, minimum=1))
        sub.done()
        return out

    cert, key = tls.path("cert"), tls.path("key")
    if (cert is None) != (key is None):
        raise tls.error("key" if key is None else "cert", "tls needs both cert and key")
    for name, p in (("cert", cert), ("key", key)):
        if p is not None and not p.is_file():
            raise tls.error(name, f"file not found: {p}")
    sla = top.numbers("sla", base.sla, LEVELS)
    cfg = ServerConfig(
        source=source,
        host=_host(listen, listen.text("host", base.host) or base.host),
        port=_port(listen, base.port),
        tls_cert=cert, tls_key=key,
        data_dir=storage.path("data_dir", base.data_dir) or base.data_dir,
        database=database,
        public_url=listen.text("public_url", None),
        enroll_secret=secret,
        enroll_token_ttl=enroll.num("token_ttl", base.enroll_token_ttl, minimum=1),
        heartbeat_interval=agents.num("heartbeat_interval", base.heartbeat_interval, minimum=1),
        offline_after=agents.num("offline_after", base.offline_after, minimum=1),
        offline_check_interval=agents.num("offline_check_interval", base.offline_check_interval, minimum=0.05),
        clock_skew_tolerance=agents.num("clock_skew_tolerance", base.clock_skew_tolerance, minimum=1),
        clock_skew_confirm=agents.num("clock_skew_confirm", base.clock_skew_confirm),
        expected_config_hashes=agents.strings("expected_config_hashes"),
        expected_binary_hashes=agents.strings("expected_binary_hashes"),
        pin_first_seen=agents.flag("pin_first_seen", base.pin_first_seen),
        max_body_bytes=ingest.num("max_body_bytes", base.max_body_bytes, minimum=1024, integer=True),
        body_timeout=ingest.num("body_timeout", base.body_timeout, minimum=0.05),
        ingest_rate=rate(ingest, "rate_limit", base.ingest_rate),
        session_ttl=auth.num("session_ttl", base.session_ttl, minimum=60),
        login_rate=rate(auth, "login_rate_limit", base.login_rate),
        incident_window=incidents.num("window", base.incident_window, minimum=1),
        sla=sla,
        retention_events_days=retention.num("events_days", base.retention_events_days, minimum=1),
        retention_alerts_days=retention.num("alerts_days", base.retention_alerts_days, minimum=1),
        retention_interval=retention.num("interval", base.retention_interval, minimum=1),
        review_max_bytes=review.num("max_bytes", base.review_max_bytes, minimum=1024, integer=True),
        review_policy=review.path("policy"),
        hash_key_file=review.path("hash_key_file"),
        metrics_token=env.get("LEAKWARDEN_METRICS_TOKEN") or top.section_text("metrics", "token"),
        log_level=logging_.text("level", base.log_level, choices=("debug", "info", "warning", "error")) or "info",
        grading=_grading(top.section("grading")),
        forward=top.get("forward", None),
        dashboard=top.get("dashboard", None),
    )
    if cfg.offline_after < cfg.heartbeat_interval:
        raise agents.error("offline_after", "must be at least heartbeat_interval")
    for r in (listen, tls, storage, enroll, agents, ingest, auth, retention, review, logging_, incidents, top):
        r.done()
    return cfg


def _port(listen: _Reader, default: int) -> int:
    port = listen.num("port", default, integer=True)
    if not 1 <= port <= 65535:
        raise listen.error("port", f"must be a TCP port 1-65535, got {port}")
    return int(port)


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def _host(listen: _Reader, host: str) -> str:
    """An IP address or a DNS name (resolved when the collector binds: see :func:`check_start`)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if all(label.isdigit() for label in labels) or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise listen.error("host", f"not an IP address or host name: {host!r}")
    return host


def check_start(cfg: ServerConfig, *, listen: bool = True) -> None:
    """What can only be checked on this machine, before anything starts: the data directory can be
    made and written, the listen address resolves. Problems are ConfigErrors naming file and key."""
    try:
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(cfg.source, "storage.data_dir", f"cannot create {cfg.data_dir}: {e.strerror or e}") from e
    if not os.access(cfg.data_dir, os.W_OK | os.X_OK):
        raise ConfigError(cfg.source, "storage.data_dir", f"not writable: {cfg.data_dir}")
    if not listen:
        return
    try:
        socket.getaddrinfo(cfg.host, cfg.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        raise ConfigError(cfg.source, "listen.host", f"cannot resolve {cfg.host!r}: {e}") from e


def default_config(**overrides: Any) -> ServerConfig:
    """The built-in defaults (used by tests and the demo), with overrides."""
    return replace(parse({}, "<defaults>", env={}), **overrides)
