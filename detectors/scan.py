"""Path or bytes → extraction → detection → redacted findings.

This is the one entry point the agent, the collector's review endpoint and
``leakwarden scan`` share. It never raises for bad input: whatever goes wrong
with one file ends up in :attr:`ScanResult.error` and the caller moves on.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Callable
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from detectors.engine import Engine
from detectors.extract import Extraction, Notice, extract_bytes, extract_path
from detectors.extract.segment import Segment
from detectors.findings import Finding, Location, Match, Severity, canonical, keyed_hash, mask
from detectors.policy import Policy, load_policy
from leakwarden.errors import ConfigError, ExtractionError, LeakWardenError

log = logging.getLogger(__name__)

#: severities of the findings made from extraction notices
NOTICE_SEVERITY = {
    "container.encrypted": Severity.MEDIUM,
    "container.limit_exceeded": Severity.MEDIUM,
    "container.disguised": Severity.MEDIUM,
}


@dataclass
class ScanResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None  # why no text was scanned (binary, media type, budget)
    media_type: str | None = None
    disguised: bool = False
    size: int | None = None
    content_hash: str | None = None  # keyed HMAC of the bytes, for correlation
    warnings: list[str] = field(default_factory=list)  # member-level problems, failed detectors
    bytes_scanned: int = 0
    omitted: dict[str, int] = field(default_factory=dict)  # findings past the per-file cap, by detector

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "path": self.path,
            "findings": [f.to_dict() for f in self.findings],
            "error": self.error,
        }
        if self.media_type:
            d["media_type"] = self.media_type
        if self.disguised:
            d["disguised"] = True
        if self.skipped:
            d["skipped"] = self.skipped
        if self.warnings:
            d["warnings"] = self.warnings
        if self.omitted:
            d["omitted"] = self.omitted
        return d


def load_hash_key(policy: Policy | None = None) -> bytes:
    """The organisation's HMAC key: env, policy, or a per-user key made on first use.

    ``LEAKWARDEN_HASH_KEY`` (hex) wins, then the policy's ``hash_key_file``;
    otherwise a random key is kept in the user's data directory (mode 0600)
    so hashes stay comparable between runs on this machine.
    """
    env = os.environ.get("LEAKWARDEN_HASH_KEY")
    if env:
        try:
            return bytes.fromhex(env)
        except ValueError:
            return env.encode()
    if policy and policy.hash_key_file:
        try:
            key = Path(policy.hash_key_file).read_bytes().strip()
        except OSError as e:
            raise ConfigError(policy.source, "hash_key_file", f"cannot read {policy.hash_key_file}: {e.strerror}") from e
        if len(key) < 16:
            raise ConfigError(policy.source, "hash_key_file", "the key must hold at least 16 bytes")
        return key
    home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "leakwarden"
    return _user_key(home / "hash.key")


def _user_key(key_path: Path) -> bytes:
    """Read the per-user key, or make it. Two first scans may race: the key is
    written to a private temporary file and linked into place, so it appears
    whole or not at all, and the loser of the race reads the winner's key."""
    def fail(problem: str, e: OSError | None = None) -> ConfigError:
        detail = f": {e.strerror or e}" if e is not None else ""
        return ConfigError(str(key_path), "", f"per-user hash key {problem}{detail} "
                           "(set LEAKWARDEN_HASH_KEY or the policy's hash_key_file to use another key)")

    def read() -> bytes:
        key = key_path.read_bytes().strip()
        if len(key) < 16:
            raise fail("is shorter than 16 bytes (remove it to make a new one)")
        return key

    try:
        return read()
    except FileNotFoundError:
        pass
    except OSError as e:
        raise fail("cannot be read", e) from e
    try:
        key_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".hash.key.", dir=key_path.parent)  # mode 0600
    except OSError as e:
        raise fail("cannot be created", e) from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32).hex().encode())
        try:
            os.link(tmp, key_path)
        except FileExistsError:
            pass  # another scan made it first: use that one
        return read()
    except OSError as e:
        raise fail("cannot be created", e) from e
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


class Scanner:
    """Scans files and buffers with one policy; safe to share between threads."""

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        hash_key: bytes | None = None,
        show_values: bool = False,
        content_hash: bool = False,
        backend: str = "auto",
    ) -> None:
        self.policy = policy or load_policy(None)
        self.hash_key = hash_key if hash_key is not None else load_hash_key(self.policy)
        self.show_values = show_values
        self.content_hash = content_hash
        detectors = self.policy.build_detectors()
        self.engine = Engine(
            detectors,
            context=self.policy.context_rules(detectors),
            min_confidence=self.policy.min_confidences(detectors),
            backend=backend,
        )

    # -- entry points -------------------------------------------------------
    def scan_path(self, path: str | os.PathLike[str], display: str | None = None,
                  progress: Callable[[int], None] | None = None) -> ScanResult:
        """``progress`` is called with the characters scanned so far after each chunk (a multi-GB
        log shows it is moving)."""
        display = display or os.fspath(path)
        result = ScanResult(path=display)
        try:
            st = os.stat(path)
            result.size = st.st_size
            extraction = extract_path(os.fspath(path), display, self.policy.limits)
            self._consume(extraction, result, progress)
            if self.content_hash and result.error is None:
                result.content_hash = self._hash_file(path)
        except FileNotFoundError:
            result.error = "no such file (vanished?)"
        except PermissionError:
            result.error = "permission denied"
        except ExtractionError as e:
            result.error = str(e)
        except OSError as e:
            result.error = f"{e.strerror or e}"
        except LeakWardenError as e:
            result.error = str(e)
        except Exception as e:  # a bug must not stop an endpoint's scanning; it must be seen
            log.exception("scanner failure on %s", display)
            result.error = f"internal error: {type(e).__name__}"
        return result

    def scan_bytes(self, data: bytes, name: str) -> ScanResult:
        result = ScanResult(path=name, size=len(data))
        try:
            self._consume(extract_bytes(data, name, self.policy.limits), result)
            if self.content_hash:
                result.content_hash = hmac.new(self.hash_key, data, hashlib.sha256).hexdigest()
        except LeakWardenError as e:
            result.error = str(e)
        except Exception as e:
            log.exception("scanner failure on %s", name)
            result.error = f"internal error: {type(e).__name__}"
        return result

    def scan_text(self, text: str, name: str = "<text>") -> list[Finding]:
        return self.findings_for(Segment(text=text, path=name))

    def findings_for(self, segment: Segment, base: int = 0, problems: list[str] | None = None) -> list[Finding]:
        out = []
        pos, line = 0, segment.line_base
        for m in self.engine.scan(segment, problems):  # sorted by start: count lines incrementally
            if m.start >= pos:
                line += segment.text.count("\n", pos, m.start)
                pos = m.start
            out.append(self._finding(m, segment, base, line))
        return out

    # -- internals ----------------------------------------------------------
    def _consume(self, extraction: Extraction, result: ScanResult,
                 progress: Callable[[int], None] | None = None) -> None:
        result.media_type = extraction.media_type
        result.disguised = extraction.disguised
        # character offset of each part's current chunk: the counted regions
        # of consecutive chunks meet (the previous chunk's count_until is the
        # same document offset as this chunk's count_from)
        bases: dict[tuple[str, str, int | None, str | None], tuple[int, int]] = {}
        for item in extraction:
            if isinstance(item, Notice):
                self._notice(item, result)
                continue
            key = (item.path, item.part, item.page, item.sheet)
            until = len(item.text) if item.count_until is None else item.count_until
            if item.at_start or key not in bases:
                base = 0
            else:
                prev_base, prev_until = bases[key]
                base = prev_base + prev_until - item.count_from
            bases[key] = (base, until)
            result.bytes_scanned += until - item.count_from
            self._keep(result, self.findings_for(item, base, result.warnings))
            if progress is not None:
                progress(result.bytes_scanned)

    def _keep(self, result: ScanResult, findings: list[Finding]) -> None:
        room = self.policy.max_findings_per_file - len(result.findings)
        result.findings.extend(findings[:max(room, 0)])
        for f in findings[max(room, 0):]:
            result.omitted[f.detector] = result.omitted.get(f.detector, 0) + 1

    def _notice(self, notice: Notice, result: ScanResult) -> None:
        if notice.kind in NOTICE_SEVERITY:
            self._keep(result, [Finding(
                detector=notice.kind,
                severity=NOTICE_SEVERITY[notice.kind],
                confidence=1.0,
                location=Location(path=notice.path, start=0, end=0),
                masked="",
                hash=keyed_hash(self.hash_key, f"{notice.kind}:{notice.path}"),
                attributes={"reason": notice.reason, **notice.attributes},
            )])
        elif notice.kind == "skipped" and notice.path == result.path:
            result.skipped = notice.reason
        else:
            result.warnings.append(f"{notice.path}: {notice.reason}")

    def _finding(self, m: Match, segment: Segment, base: int, line: int) -> Finding:
        cell = segment.anchor_at(m.start)
        location = Location(
            path=segment.path, start=base + m.start, end=base + m.end, line=line,
            part=segment.part if segment.part != "body" else None,
            page=segment.page, sheet=segment.sheet, cell=cell,
        )
        return Finding(
            detector=m.detector,
            severity=self.policy.severity_for(m.detector, m.severity),
            confidence=m.confidence,
            location=location,
            masked=_masked(m),
            hash=keyed_hash(self.hash_key, canonical(m.detector, m.value) if m.value
                            else f"{m.detector}:{segment.path}"),
            attributes=dict(m.attributes),
            value=m.value if self.show_values else None,
        )

    def _hash_file(self, path: str | os.PathLike[str]) -> str | None:
        h = hmac.new(self.hash_key, digestmod=hashlib.sha256)
        try:
            with open(path, "rb") as f:
                while block := f.read(1 << 20):
                    h.update(block)
        except OSError:
            return None
        return h.hexdigest()


def _masked(m: Match) -> str:
    # Markings are labels, not secrets: show them. Everything else is masked.
    if m.detector.startswith("marking."):
        return m.value[:80]
    if "\n" in m.value:  # multi-line blocks (private keys): first line only, no body
        first = m.value.split("\n", 1)[0]
        return first[:60] + "\n…"
    return mask(m.value)

