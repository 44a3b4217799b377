"""Shipper against a real aiohttp receiver that implements the collector contract."""

from __future__ import annotations

import logging
import os
import ssl
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from agent.enrollment import identity_path
from agent.shipper import Shipper, retry_after_seconds
from agent.spool import Spool
from leakwarden import wire
from tests.agent.conftest import wait_for, write_config
from tests.agent.receiver import Receiver


def _events(n: int, kind: str = "file.write") -> list[tuple[wire.Event, int]]:
    return [(wire.Event(id=str(uuid.uuid4()), seq=0, time=time.time(), kind=kind, host="h",  # type: ignore[arg-type]
                        attributes={"pad": "x" * 300}), 3) for _ in range(n)]


def _shipper(tmp_path: Path, url: str, **collector) -> tuple[Shipper, Spool, list]:
    cfg = write_config(tmp_path, collector={"url": url, "enroll_secret": "s3cret-enroll", "backoff_initial": 0.1,
                                            "backoff_max": 0.5, "batch_size": 50, **collector})
    spool = Spool(Path(cfg.state_dir) / "spool.db", max_events=10_000, max_bytes=1 << 26)
    states: list = []
    sh = Shipper(cfg.collector, spool, state_dir=cfg.state_dir, host="test-host", set_state=lambda s, r: states.append((s, r)))
    return sh, spool, states


def test_enrolls_once_keeps_token_0600_and_ships_gzip_batches(tmp_path: Path, receiver: Receiver) -> None:
    sh, spool, _ = _shipper(tmp_path, receiver.url)
    spool.put(_events(120))
    sh.start()
    try:
        wait_for(lambda: len(receiver.events) == 120)
        wait_for(lambda: spool.depth == 0)
    finally:
        sh.stop()
    assert receiver.enrollments == 1 and receiver.gzip_posts == receiver.posts >= 3  # batches of <= 50
    mode = stat.S_IMODE(os.stat(identity_path(sh.state_dir)).st_mode)
    assert mode == 0o600
    seqs = sorted(e["seq"] for e in receiver.events.values())
    assert seqs == list(range(1, 121))
    # A restarted shipper reuses its identity.
    sh2 = Shipper(sh.cfg, spool, state_dir=sh.state_dir, host="test-host", set_state=lambda s, r: None)
    spool.put(_events(1))
    sh2.start()
    try:
        wait_for(lambda: len(receiver.events) == 121)
    finally:
        sh2.stop()
    assert receiver.enrollments == 1


def test_collector_down_then_up_every_event_arrives_exactly_once(tmp_path: Path) -> None:
    rec = Receiver()
    rec.start()
    port = rec.port
    rec.stop()  # down before the agent ever reaches it
    sh, spool, states = _shipper(tmp_path, f"http://127.0.0.1:{port}")
    spool.put(_events(200))
    sh.start()
    try:
        wait_for(lambda: ("degraded", "collector unreachable") in states)
        time.sleep(1.0)
        spool.put(_events(100))
        rec2 = Receiver(port=port).start()
        try:
            wait_for(lambda: len(rec2.events) == 300, timeout=15)
            wait_for(lambda: spool.depth == 0)
        finally:
            rec2.stop()
    finally:
        sh.stop()
    assert rec2.duplicates == 0
    assert states[-1] == ("ok", None)


def test_acked_but_not_deleted_events_are_resent_and_deduplicated(tmp_path: Path, receiver: Receiver) -> None:
    """A crash between the collector's ack and our delete: the collector sees the events twice, stores them once."""
    sh, spool, _ = _shipper(tmp_path, receiver.url)
    events = _events(10)
    spool.put(events)
    sh.start()
    wait_for(lambda: spool.depth == 0)
    sh.stop()
    spool.put(events[:5])  # as if the delete had not happened (same ids)
    sh2 = Shipper(sh.cfg, spool, state_dir=sh.state_dir, host="h", set_state=lambda s, r: None)
    sh2.start()
    try:
        wait_for(lambda: spool.depth == 0)
    finally:
        sh2.stop()
    assert len(receiver.events) == 10 and receiver.duplicates == 5


def test_429_retry_after_is_honoured(tmp_path: Path, receiver: Receiver) -> None:
    receiver.rate_limit_next = 1
    receiver.retry_after = "1"
    sh, spool, states = _shipper(tmp_path, receiver.url)
    spool.put(_events(5))
    sh.start()
    try:
        wait_for(lambda: len(receiver.events) == 5)
    finally:
        sh.stop()
    assert ("degraded", "collector rate limited") in states
    assert receiver.post_times[1] - receiver.post_times[0] >= 0.95
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 5.0) == 0.0
    assert retry_after_seconds("garbage", 5.0) == 5.0


def test_revoked_token_re_enrolls_or_degrades_without_secret(tmp_path: Path, receiver: Receiver) -> None:
    sh, spool, _ = _shipper(tmp_path, receiver.url)
    spool.put(_events(3))
    sh.start()
    wait_for(lambda: len(receiver.events) == 3)
    receiver.tokens.clear()  # the collector revoked every token
    spool.put(_events(3))
    sh.notify()
    try:
        wait_for(lambda: len(receiver.events) == 6)
    finally:
        sh.stop()
    assert receiver.enrollments == 2
    # Without an enroll secret the agent cannot re-enroll: it keeps the events and says why.
    receiver.tokens.clear()
    cfg = sh.cfg.__class__(**{**sh.cfg.__dict__, "enroll_secret": None})
    states: list = []
    sh3 = Shipper(cfg, spool, state_dir=sh.state_dir, host="h", set_state=lambda s, r: states.append((s, r)))
    spool.put(_events(2))
    sh3.start()
    try:
        wait_for(lambda: any("unauthorized" in (r or "") for _, r in states))
    finally:
        sh3.stop()
    assert spool.depth == 2


def test_an_event_the_collector_rejects_is_isolated_and_dropped_alone(tmp_path: Path, receiver: Receiver) -> None:
    receiver.reject_kind = "agent.gap"
    sh, spool, _ = _shipper(tmp_path, receiver.url)
    good = _events(20)
    spool.put(good[:10] + _events(1, "agent.gap") + good[10:])
    sh.start()
    try:
        wait_for(lambda: len(receiver.events) == 20 and spool.depth == 0)
    finally:
        sh.stop()
    assert spool.rejected() == 1
    assert {e.id for e, _ in good} == set(receiver.events)


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_tls_is_verified(tmp_path: Path, tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    rec = Receiver(ssl_context=ctx).start()
    try:
        (tmp_path / "a").mkdir()
        sh, spool, states = _shipper(tmp_path / "a", rec.url)
        spool.put(_events(2))
        sh.start()
        try:
            wait_for(lambda: ("degraded", "collector unreachable") in states)  # unknown CA: refused
            assert rec.enrollments == 0
        finally:
            sh.stop()
        (tmp_path / "b").mkdir()
        sh, spool, states = _shipper(tmp_path / "b", rec.url, ca_file=str(cert))
        spool.put(_events(2))
        sh.start()
        try:
            wait_for(lambda: len(rec.events) == 2)
        finally:
            sh.stop()
    finally:
        rec.stop()


class _Attempts(logging.Handler):
    """Failed connection attempts, as the shipper logs them (one record per attempt)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "send failed, backing off":
            self.times.append(record.created)


def test_new_events_do_not_cut_the_backoff_short_and_a_success_resets_it(tmp_path: Path) -> None:
    rec = Receiver().start()
    port = rec.port
    sh, spool, _ = _shipper(tmp_path, rec.url, backoff_initial=0.1, backoff_max=0.8)
    attempts = _Attempts()
    logging.getLogger("agent.shipper").addHandler(attempts)
    sh.start()
    try:
        spool.put(_events(1))
        sh.notify()
        wait_for(lambda: len(rec.events) == 1)  # enrolled, the connection pool is warm
        rec.stop()  # the collector goes away: its port is closed
        # 3 s of outage while the pipeline spools and notifies every 10 ms (the e2e burst).
        end, written = time.monotonic() + 3.0, 0
        while time.monotonic() < end:
            spool.put(_events(1))
            written += 1
            sh.notify()
            time.sleep(0.01)
        outage = list(attempts.times)
        # Exponential: delays 0.05-0.1, 0.1-0.2, 0.2-0.4, then 0.4-0.8 s (the cap) -> at most ~10 tries in 3 s.
        assert 3 <= len(outage) <= 12, len(outage)
        gaps = [b - a for a, b in zip(outage, outage[1:])]
        assert all(g >= 0.4 * 0.9 for g in gaps[3:]), gaps  # at the cap, equal jitter: never below half of it
        assert all(g <= 0.8 + 0.4 for g in gaps), gaps  # and it never stalls beyond the cap
        rec2 = Receiver(port=port, tokens=rec.tokens).start()
        try:
            wait_for(lambda: spool.depth == 0, timeout=5)
        finally:
            rec2.stop()
        assert len(rec2.events) == written and rec2.duplicates == 0
        # The success reset the backoff: the next outage starts again at backoff_initial.
        attempts.times.clear()
        spool.put(_events(1))
        sh.notify()
        wait_for(lambda: len(attempts.times) >= 2, timeout=5)
        assert attempts.times[1] - attempts.times[0] <= 0.1 + 0.05
    finally:
        sh.stop()
        logging.getLogger("agent.shipper").removeHandler(attempts)
