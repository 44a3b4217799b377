"""``leakwarden scan``: scan files and directories like grep scans for text.

Exit status: 0 no findings, 1 findings, 2 an error that stopped the scan
(bad policy, bad arguments, a path that does not exist). Problems with single
files found while walking are reported per file (``error``) and the scan goes on.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import stat
import sys
import time
from collections.abc import Iterator
from typing import TextIO

from detectors.policy import load_policy
from detectors.scan import Scanner, ScanResult
from leakwarden.errors import ConfigError, ModelError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("scan", help="scan files and directories for sensitive data",
                       description="Scan files and directories (recursively) for sensitive data.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=("text", "json", "jsonl"), default="text")
    p.add_argument("--policy", metavar="FILE", help="detection policy (default: configs/policies/default.yaml)")
    p.add_argument("--exclude", metavar="GLOB", action="append", default=[],
                   help="skip paths matching GLOB (name or path; repeatable)")
    p.add_argument("--show-values", action="store_true",
                   help="print raw matched values (off by default: findings are masked)")
    p.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    p.add_argument("--backend", choices=("auto", "hyperscan", "regex"), default="auto", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def walk(paths: list[str], excludes: list[str]) -> Iterator[tuple[str, str | None]]:
    """Yield (path, error) for every file under ``paths``, never looping on symlinks."""
    seen_dirs: set[tuple[int, int]] = set()

    def excluded(path: str) -> bool:
        name = os.path.basename(path.rstrip("/"))
        return any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(path, g) for g in excludes)

    def visit(path: str, top: bool) -> Iterator[tuple[str, str | None]]:
        if not top and excluded(path):
            return
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if os.path.islink(path):
                yield path, "dangling symbolic link"
            elif top:
                yield path, "no such file or directory"
            return
        except OSError as e:  # ELOOP, EACCES ...
            yield path, e.strerror or str(e)
            return
        if not stat.S_ISDIR(st.st_mode):
            yield path, None
            return
        ident = (st.st_dev, st.st_ino)
        if ident in seen_dirs:
            return  # a symlink back into a tree already walked
        seen_dirs.add(ident)
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as e:
            yield path, e.strerror or str(e)
            return
        for entry in entries:
            yield from visit(entry.path, False)

    for p in paths:
        yield from visit(p, True)


class Progress:
    """A one-line progress display on stderr, only when it is a terminal."""

    def __init__(self, enabled: bool, stream: TextIO = sys.stderr) -> None:
        self.enabled = enabled and stream.isatty()
        self.stream = stream
        self.last = 0.0

    def update(self, files: int, nbytes: int, current: str) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        name = current if len(current) <= 50 else "…" + current[-49:]
        self.stream.write(f"\r\x1b[Kscanning: {files} files, {nbytes / 1e6:.1f} MB  {name}")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _text_line(r: ScanResult) -> list[str]:
    out = []
    if r.error:
        out.append(f"{r.path}: error: {r.error}")
    if r.skipped:
        out.append(f"{r.path}: skipped: {r.skipped}")
    out.extend(f"warning: {w}" for w in r.warnings)  # e.g. a detector that failed on this file
    for f in r.findings:
        loc = f.location
        where = f.location.path
        if loc.line is not None:
            where += f":{loc.line}"
        for extra in (f"page {loc.page}" if loc.page else None, loc.sheet, loc.cell, loc.part):
            if extra:
                where += f" [{extra}]"
        attrs = " ".join(f"{k}={v}" for k, v in f.attributes.items() if k in ("level", "period", "label", "reason"))
        value = f.value if f.value is not None else f.masked
        out.append(f"{where}: {f.detector} {f.severity.label} {f.confidence:.2f} {value!s}"
                   + (f" ({attrs})" if attrs else ""))
    if r.omitted:
        counts = ", ".join(f"{n} {d}" for d, n in sorted(r.omitted.items()))
        out.append(f"{r.path}: {sum(r.omitted.values())} more findings not listed ({counts}; max_findings_per_file)")
    return out


def run(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy)
        scanner = Scanner(policy, show_values=args.show_values, backend=args.backend)
    except ConfigError as e:
        print(f"leakwarden scan: {e}", file=sys.stderr)
        return 2
    except ModelError as e:  # names the model file and what is wrong with it; rc 1 would read as "findings"
        print(f"leakwarden scan: {policy.source}: ml.model: {e}", file=sys.stderr)
        return 2
    out = sys.stdout
    progress = Progress(not args.no_progress)
    started = time.monotonic()
    n_files = n_with = n_findings = n_errors = n_skipped = total_bytes = 0
    fatal = False
    results_json: list[dict[str, object]] = []
    for path, error in walk(args.paths, args.exclude):
        progress.update(n_files, total_bytes, path)
        if error is not None:
            result = ScanResult(path=path, error=error)
            if error == "no such file or directory":
                fatal = True
        else:
            done_before = total_bytes
            result = scanner.scan_path(
                path, progress=lambda n, f=n_files, p=path, d=done_before: progress.update(f, d + n, p))
        n_files += 1
        if result.error is None and result.skipped is None:  # the rate counts what was really read
            total_bytes += result.size or 0
        n_errors += result.error is not None
        n_skipped += result.skipped is not None
        if result.findings:
            n_with += 1
            n_findings += len(result.findings) + sum(result.omitted.values())
        if args.format == "jsonl":
            progress.done()
            out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
            out.flush()
        elif args.format == "json":
            results_json.append(result.to_dict())
        else:
            lines = _text_line(result)
            if lines:
                progress.done()
                out.write("\n".join(lines) + "\n")
    progress.done()
    elapsed = time.monotonic() - started
    summary = {
        "files": n_files, "files_with_findings": n_with, "findings": n_findings,
        "errors": n_errors, "skipped": n_skipped, "bytes": total_bytes, "seconds": round(elapsed, 3),
    }
    if args.format == "json":
        json.dump({"files": results_json, "summary": summary}, out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif args.format == "text":
        rate = total_bytes / elapsed / 1e6 if elapsed > 0 else 0.0
        out.write(f"Scanned {n_files} files ({total_bytes / 1e6:.1f} MB) in {elapsed:.2f}s ({rate:.1f} MB/s): "
                  f"{n_findings} findings in {n_with} files, {n_errors} errors, {n_skipped} skipped\n")
    if fatal:
        return 2
    return 1 if n_findings else 0
