"""Detection policy: YAML → a validated :class:`Policy`, checked once at load.

Every error names the file, the key (dotted path) and the problem, so an
operator can fix a policy without reading code. The format is documented in
``docs/policies.md``; ``configs/policies/default.yaml`` is the default.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


from detectors.base import Detector
from detectors.context import ContextRules
from detectors.custom import VALIDATORS, CustomRegexDetector, KeywordDetector
from detectors.extract import ExtractLimits
from detectors.findings import Severity
from detectors.registry import BUILTIN
from leakwarden.errors import ConfigError
from leakwarden.yamlfile import read_yaml

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "configs" / "policies" / "default.yaml"
_ID = re.compile(r"^custom\.[a-z0-9_]+(\.[a-z0-9_]+)*$")
_TOP_KEYS = {"version", "min_confidence", "detectors", "custom", "ml", "limits", "hash_key_file",
             "max_findings_per_file"}


@dataclass(frozen=True)
class DetectorSettings:
    severity: Severity | None = None
    min_confidence: float | None = None
    hotwords: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()


@dataclass(frozen=True)
class MlSettings:
    enabled: bool = False
    threshold: float = 0.5
    model: str | None = None


@dataclass(frozen=True)
class Policy:
    source: str
    min_confidence: float = 0.5
    enabled: tuple[str, ...] = ("*",)
    disabled: tuple[str, ...] = ()
    settings: dict[str, DetectorSettings] = field(default_factory=dict)
    custom: tuple[Detector, ...] = ()
    ml: MlSettings = MlSettings()
    limits: ExtractLimits = ExtractLimits()
    hash_key_file: str | None = None
    #: findings kept per scanned file; the rest are counted per detector, so a
    #: 1 GB log with a million values scans in bounded memory
    max_findings_per_file: int = 10_000

    def is_enabled(self, detector_id: str) -> bool:
        on = any(fnmatch.fnmatchcase(detector_id, pat) for pat in self.enabled)
        return on and not any(fnmatch.fnmatchcase(detector_id, pat) for pat in self.disabled)

    def build_detectors(self) -> list[Detector]:
        """Instantiate the enabled built-in, custom and ML detectors."""
        out: list[Detector] = [cls() for did, cls in BUILTIN.items() if self.is_enabled(did)]
        out.extend(d for d in self.custom if self.is_enabled(d.id))
        if self.ml.enabled and self.is_enabled("ml.sensitive_document"):
            from detectors.ml.detector import SensitiveDocumentDetector  # heavy: import on demand

            out.append(SensitiveDocumentDetector(model_path=self.ml.model, threshold=self.ml.threshold))
        return out

    def context_rules(self, detectors: list[Detector]) -> dict[str, ContextRules]:
        rules = {}
        for d in detectors:
            s = self.settings.get(d.id, DetectorSettings())
            rules[d.id] = ContextRules.build(
                (*d.hotwords, *s.hotwords), (*d.exclusions, *s.exclusions), d.context_window
            )
        return rules

    def min_confidences(self, detectors: list[Detector]) -> dict[str, float]:
        out = {}
        for d in detectors:
            s = self.settings.get(d.id)
            out[d.id] = s.min_confidence if s and s.min_confidence is not None else self.min_confidence
        return out

    def severity_for(self, detector_id: str, default: Severity) -> Severity:
        s = self.settings.get(detector_id)
        return s.severity if s and s.severity is not None else default


class _Reader:
    """Typed access to a YAML mapping that reports errors as ``file: key: problem``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, key, problem)

    def mapping(self, value: Any, key: str, allowed: set[str] | None = None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping, got {type(value).__name__}")
        if allowed is not None:
            unknown = sorted(set(map(str, value)) - allowed)
            if unknown:
                raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0],
                                f"unknown key (expected one of: {', '.join(sorted(allowed))})")
        return value

    def number(self, value: Any, key: str, lo: float, hi: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number, got {value!r}")
        if not lo <= value <= hi:
            raise self.fail(key, f"must be between {lo} and {hi}, got {value}")
        return float(value)

    def boolean(self, value: Any, key: str, default: bool) -> bool:
        """A YAML boolean only: ``bool("false")`` is True, so a quoted "false"
        (or 0, "no") would silently turn a switch on."""
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false (unquoted), got {value!r}")
        return value

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        return tuple(value)

    def severity(self, value: Any, key: str) -> Severity:
        try:
            return Severity.parse(str(value))
        except ValueError as e:
            raise self.fail(key, str(e)) from e


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Load and validate a policy file (the default one when ``path`` is None)."""
    source = str(path or DEFAULT_POLICY)
    return parse_policy(read_yaml(source), source)


def parse_policy(raw: Any, source: str) -> Policy:
    r = _Reader(source)
    top = r.mapping(raw, "", _TOP_KEYS)
    if top.get("version", 1) != 1:
        raise r.fail("version", f"unsupported policy version {top.get('version')!r} (this LeakWarden reads 1)")
    min_conf = r.number(top.get("min_confidence", 0.5), "min_confidence", 0.0, 1.0)

    dets = r.mapping(top.get("detectors"), "detectors", {"enabled", "disabled", "settings"})
    enabled = r.strings(dets.get("enabled", ["*"]), "detectors.enabled") or ("*",)
    disabled = r.strings(dets.get("disabled"), "detectors.disabled")
    for key, pats in (("detectors.enabled", enabled), ("detectors.disabled", disabled)):
        for i, pat in enumerate(pats):
            if not any(fnmatch.fnmatchcase(k, pat) for k in _known_ids()) and not pat.startswith(("custom.", "ml.")):
                raise r.fail(f"{key}[{i}]", f"{pat!r} matches no detector id")

    settings: dict[str, DetectorSettings] = {}
    for did, s in r.mapping(dets.get("settings"), "detectors.settings").items():
        key = f"detectors.settings.{did}"
        if did not in BUILTIN and not str(did).startswith(("custom.", "ml.")):
            raise r.fail(key, "unknown detector id")
        s = r.mapping(s, key, {"severity", "min_confidence", "hotwords", "exclusions"})
        settings[did] = DetectorSettings(
            severity=r.severity(s["severity"], f"{key}.severity") if "severity" in s else None,
            min_confidence=r.number(s["min_confidence"], f"{key}.min_confidence", 0, 1) if "min_confidence" in s else None,
            hotwords=r.strings(s.get("hotwords"), f"{key}.hotwords"),
            exclusions=r.strings(s.get("exclusions"), f"{key}.exclusions"),
        )

    custom_raw = top.get("custom") or []
    if not isinstance(custom_raw, list):
        raise r.fail("custom", "must be a list of detector definitions")
    base_dir = Path(source).resolve().parent
    custom: list[Detector] = []
    seen: set[str] = set()
    for i, item in enumerate(custom_raw):
        det = _custom_detector(r, item, f"custom[{i}]", base_dir)
        if det.id in seen:
            raise r.fail(f"custom[{i}].id", f"duplicate detector id {det.id!r}")
        seen.add(det.id)
        custom.append(det)

    ml_raw = r.mapping(top.get("ml"), "ml", {"enabled", "threshold", "model"})
    ml = MlSettings(
        enabled=r.boolean(ml_raw.get("enabled"), "ml.enabled", False),
        threshold=r.number(ml_raw.get("threshold", 0.5), "ml.threshold", 0.0, 1.0),
        model=str(base_dir / ml_raw["model"]) if ml_raw.get("model") else None,
    )

    limits = _limits(r, top.get("limits"))
    max_findings = int(r.number(top.get("max_findings_per_file", 10_000), "max_findings_per_file", 1, 10**7))
    key_file = top.get("hash_key_file")
    if key_file is not None and not isinstance(key_file, str):
        raise r.fail("hash_key_file", "must be a path")
    return Policy(
        source=source, min_confidence=min_conf, enabled=enabled, disabled=disabled, settings=settings,
        custom=tuple(custom), ml=ml, limits=limits,
        hash_key_file=str(base_dir / key_file) if key_file else None, max_findings_per_file=max_findings,
    )


def _known_ids() -> list[str]:
    return [*BUILTIN, "ml.sensitive_document"]


#: the longest value a built-in detector must see whole is a PEM private-key
#: block (RSA-4096: about 3,300 characters); a chunk counts only matches with
#: half the overlap of context on each side (extract/chunks.py), so half the
#: overlap must hold such a block
MIN_OVERLAP_CHARS = 8192
#: a compression ratio below this is no bomb sign: ordinary text deflates 3-10x
#: and XML parts of office documents 20-100x
MIN_RATIO = 10.0
MAX_RATIO = 1_000_000.0


def _limits(r: _Reader, raw: Any) -> ExtractLimits:
    names = {f.name: f for f in fields(ExtractLimits)}
    data = r.mapping(raw, "limits", set(names))
    defaults = ExtractLimits()
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        key = f"limits.{name}"
        if value is None and name == "max_file_bytes":
            kwargs[name] = None
            continue
        num = r.number(value, key, 0, 1 << 50)
        if num <= 0:
            raise r.fail(key, "must be positive")
        kwargs[name] = num if isinstance(getattr(defaults, name), float) else int(num)
    chunk = kwargs.get("chunk_chars", defaults.chunk_chars)
    overlap = kwargs.get("overlap_chars", defaults.overlap_chars)
    if overlap < MIN_OVERLAP_CHARS:
        raise r.fail("limits.overlap_chars", f"must be at least {MIN_OVERLAP_CHARS} (half of it must hold the "
                     f"longest value, a PEM private key), got {overlap}")
    if overlap * 2 >= chunk:
        which = "limits.chunk_chars" if "chunk_chars" in kwargs else "limits.overlap_chars"
        raise r.fail(which, f"chunk_chars ({chunk}) must be more than twice overlap_chars ({overlap})")
    ratio = kwargs.get("max_ratio", defaults.max_ratio)
    if not MIN_RATIO <= ratio <= MAX_RATIO:
        raise r.fail("limits.max_ratio", f"must be between {MIN_RATIO:g} and {MAX_RATIO:g} (expanded/compressed "
                     f"size; office documents reach 100), got {ratio:g}")
    try:
        return ExtractLimits(**kwargs)
    except ValueError as e:  # ExtractLimits' own checks: keep them reported as policy errors
        raise r.fail("limits", str(e)) from e


def _custom_detector(r: _Reader, raw: Any, key: str, base_dir: Path) -> Detector:
    allowed = {"id", "type", "keywords", "keywords_file", "case_sensitive", "whole_word", "pattern",
               "validator", "severity", "confidence", "hotwords", "exclusions"}
    d = r.mapping(raw, key, allowed)
    did = d.get("id")
    if not isinstance(did, str) or not _ID.match(did):
        raise r.fail(f"{key}.id", f"must look like custom.<name> (lower case, digits, _), got {did!r}")
    kind = d.get("type")
    severity = r.severity(d.get("severity", "medium"), f"{key}.severity")
    confidence = r.number(d.get("confidence", 0.7), f"{key}.confidence", 0, 1)
    hot = r.strings(d.get("hotwords"), f"{key}.hotwords")
    excl = r.strings(d.get("exclusions"), f"{key}.exclusions")
    # keyword lists ignore case by default, regexes respect it (as grep does)
    case = r.boolean(d.get("case_sensitive"), f"{key}.case_sensitive", kind == "regex")
    if kind == "keywords":
        words = list(r.strings(d.get("keywords"), f"{key}.keywords"))
        if d.get("keywords_file"):
            kf = base_dir / str(d["keywords_file"])
            try:
                words += [ln.strip() for ln in kf.read_text(encoding="utf-8").splitlines()
                          if ln.strip() and not ln.lstrip().startswith("#")]
            except OSError as e:
                raise r.fail(f"{key}.keywords_file", f"cannot read {kf}: {e.strerror}") from e
        if not words:
            raise r.fail(f"{key}.keywords", "a keywords detector needs keywords or keywords_file")
        return KeywordDetector(did, words, severity=severity, confidence=confidence, case_sensitive=case,
                               whole_word=r.boolean(d.get("whole_word"), f"{key}.whole_word", True), hotwords=hot, exclusions=excl)
    if kind == "regex":
        pattern = d.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise r.fail(f"{key}.pattern", "a regex detector needs a pattern")
        try:
            re.compile(pattern)
        except re.error as e:
            raise r.fail(f"{key}.pattern", f"invalid regular expression: {e}") from e
        validator = d.get("validator")
        if validator is not None and validator not in VALIDATORS:
            raise r.fail(f"{key}.validator", f"unknown validator {validator!r} (known: {', '.join(sorted(VALIDATORS))})")
        # An organisation's regex runs as its own Python pass rather than joining the
        # Hyperscan database: python-hyperscan 0.9 can crash (SIGSEGV) on some
        # SOM_LEFTMOST expressions, and a policy file must never be able to kill an agent.
        return CustomRegexDetector(did, pattern, validator=validator, severity=severity, confidence=confidence,
                                   case_sensitive=case, hotwords=hot, exclusions=excl)
    raise r.fail(f"{key}.type", f"must be 'keywords' or 'regex', got {kind!r}")
