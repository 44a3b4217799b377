#!/usr/bin/env python3
"""Scan throughput and memory: LeakWarden vs a naive per-pattern scanner vs detect-secrets.

Usage: .venv/bin/python bench/scan_bench.py [--mb 64] [--big-gb 1] [--skip-big]

Prints, in one run and on the same generated corpus:
  * LeakWarden (default policy, Hyperscan prefilter) MB/s on one core,
  * LeakWarden with the pure-Python regex prefilter fallback,
  * a naive scanner: every detector's verification regex as one Python ``re`` pass each,
  * detect-secrets (on a 2 MB sample, it is slow) and Presidio pattern recognizers if installed,
  * peak RSS of ``leakwarden scan`` on a 1 GB file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import generate  # noqa: E402

from detectors.base import PatternDetector  # noqa: E402
from detectors.policy import load_policy  # noqa: E402
from detectors.scan import Scanner  # noqa: E402


def bench_leakwarden(files: list[Path], backend: str) -> tuple[float, int]:
    scanner = Scanner(load_policy(None), hash_key=b"bench", backend=backend)
    total = sum(f.stat().st_size for f in files)
    t = time.process_time()
    n = 0
    for f in files:
        result = scanner.scan_path(f)
        if result.error:
            raise SystemExit(f"scan of {f} failed: {result.error}")
        n += len(result.findings)
    return total / (time.process_time() - t) / 1e6, n


def bench_naive(files: list[Path]) -> tuple[float, int]:
    """The obvious implementation: each detector's regex over the whole text, one after another."""
    detectors = [d for d in load_policy(None).build_detectors() if isinstance(d, PatternDetector)]
    total = sum(f.stat().st_size for f in files)
    t = time.process_time()
    n = 0
    for f in files:
        text = f.read_text(encoding="utf-8")
        for d in detectors:
            n += sum(1 for _ in d.pattern.finditer(text))
    return total / (time.process_time() - t) / 1e6, n


def bench_detect_secrets(sample: Path) -> float | None:
    try:
        from detect_secrets.core.scan import scan_file
        from detect_secrets.settings import default_settings
    except ImportError:
        return None
    with default_settings():
        t = time.process_time()
        list(scan_file(str(sample)))
        return sample.stat().st_size / (time.process_time() - t) / 1e6


def bench_presidio(sample: Path) -> float | None:
    try:
        from presidio_analyzer.predefined_recognizers import (CreditCardRecognizer, EmailRecognizer,
                                                              IbanRecognizer, UsSsnRecognizer)
    except ImportError:
        return None
    text = sample.read_text(encoding="utf-8")
    recognizers = [CreditCardRecognizer(), EmailRecognizer(), IbanRecognizer(), UsSsnRecognizer()]
    t = time.process_time()
    for r in recognizers:
        r.analyze(text, r.supported_entities, None)
    return len(text.encode()) / (time.process_time() - t) / 1e6


def peak_rss_big(path: Path) -> tuple[float, float]:
    """Peak RSS of one `leakwarden scan` process, read from /proc while it runs.

    (``wait4``'s ru_maxrss would count the pages the child shares with this big
    parent between fork and exec, so it over-reports.)
    """
    exe = Path(sys.executable).parent / "leakwarden"
    t = time.monotonic()
    proc = subprocess.Popen([str(exe), "scan", "--format", "jsonl", "--no-progress", str(path)],
                            stdout=subprocess.DEVNULL)
    peak_kb = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):  # the kernel's own high-water mark
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except OSError:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - t
    return peak_kb / 1024, path.stat().st_size / elapsed / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=64, help="size of the mixed corpus (MB)")
    ap.add_argument("--big-gb", type=float, default=1.0, help="size of the single big file for the RSS check")
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lw-bench-") as tmp:
        root = Path(tmp)
        files = []
        text = generate(args.mb << 20)
        data = text.encode("utf-8")
        start, i = 0, 0
        while start < len(data):  # ~8 MB files cut at line ends
            end = data.find(b"\n", start + (8 << 20))
            end = len(data) if end < 0 else end + 1
            f = root / f"part{i:03d}.log"
            f.write_bytes(data[start:end])
            files.append(f)
            start, i = end, i + 1
        sample = root / "sample.txt"
        sample.write_bytes(data[: data.find(b"\n", 2 << 20) + 1])
        total_mb = sum(f.stat().st_size for f in files) / 1e6
        print(f"corpus: {total_mb:.1f} MB in {len(files)} files, mixed zh/en prose, logs, ~1 value per 3 KB")
        print(f"{'scanner':<44} {'MB/s (CPU)':>11} {'matches':>9}")
        rows = []
        lw, n_lw = bench_leakwarden(files, "auto")
        rows.append(("LeakWarden, default policy (hyperscan)", lw, n_lw))
        sparse_dir = root / "sparse"
        sparse_dir.mkdir()
        sparse = sparse_dir / "sparse.log"
        sparse.write_text(generate(32 << 20, seed=2, density=0.003), encoding="utf-8")
        sp, n_sp = bench_leakwarden([sparse], "auto")
        rows.append(("LeakWarden, 10x sparser values (1 per 30 KB)", sp, n_sp))
        rx, n_rx = bench_leakwarden(files, "regex")
        rows.append(("LeakWarden, regex prefilter fallback", rx, n_rx))
        nv, n_nv = bench_naive(files)
        rows.append(("naive: one Python re pass per pattern", nv, n_nv))
        ds = bench_detect_secrets(sample)
        rows.append(("detect-secrets (2 MB sample)", ds, None))
        pr = bench_presidio(sample)
        rows.append(("Presidio pattern recognizers (2 MB sample)", pr, None))
        for name, mbps, n in rows:
            fig = f"{mbps:11.1f}" if mbps is not None else f"{'not installed':>11}"
            print(f"{name:<44} {fig} {'' if n is None else n:>9}")
        print(f"speed-up vs naive: {lw / nv:.1f}x")
        if not args.skip_big:
            big = root / "big.log"
            chunk = data[: 64 << 20]
            with open(big, "wb") as f:
                written = 0
                while written < args.big_gb * (1 << 30):
                    f.write(chunk)
                    written += len(chunk)
            for f in [*files, sparse]:
                f.unlink()
            rss, rate = peak_rss_big(big)
            print(f"peak RSS scanning one {big.stat().st_size / 2**30:.2f} GB file: {rss:.0f} MB "
                  f"(whole `leakwarden scan` process, {rate:.0f} MB/s wall)")


if __name__ == "__main__":
    os.environ.setdefault("LEAKWARDEN_HASH_KEY", "62656e6368")
    main()
