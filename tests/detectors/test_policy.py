"""Policy files: validated once, errors name file, key and problem; custom detectors work."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from detectors.extract.segment import Segment
from detectors.policy import load_policy
from detectors.scan import Scanner
from leakwarden.errors import ConfigError


def write(tmp_path: Path, body: str, name: str = "policy.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def test_default_policy_loads_and_enables_every_builtin() -> None:
    from detectors.registry import BUILTIN

    policy = load_policy(None)
    ids = {d.id for d in policy.build_detectors()}
    assert set(BUILTIN) <= ids


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        ("min_confidence: 3\n", "min_confidence", "between"),
        ("detectors: {settings: {pii.nope: {severity: high}}}\n", "detectors.settings.pii.nope", "unknown detector"),
        ("detectors: {settings: {pii.email: {severity: loud}}}\n", "detectors.settings.pii.email.severity", "unknown severity"),
        ("detectors: {enabled: ['pii.zzz*']}\n", "detectors.enabled[0]", "matches no detector"),
        ("custom: [{id: custom.x, type: regex, pattern: '(unclosed'}]\n", "custom[0].pattern", "invalid regular expression"),
        ("custom: [{id: custom.x, type: regex, pattern: 'a', validator: crc99}]\n", "custom[0].validator", "unknown validator"),
        ("custom: [{id: Bad Id, type: keywords, keywords: [a]}]\n", "custom[0].id", "custom.<name>"),
        ("custom: [{id: custom.x, type: fuzzy}]\n", "custom[0].type", "must be 'keywords' or 'regex'"),
        ("custom: [{id: custom.x, type: keywords, keywords_file: missing.txt}]\n", "custom[0].keywords_file", "cannot read"),
        ("limits: {max_depth: -1}\n", "limits.max_depth", "between"),
        ("colour: blue\n", "colour", "unknown key"),
        ("version: 7\n", "version", "unsupported"),
    ],
)
def test_errors_name_file_key_and_problem(tmp_path: Path, body: str, key: str, problem: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as e:
        load_policy(path)
    assert e.value.source == str(path)
    assert e.value.key == key
    assert problem in e.value.problem
    assert str(path) in str(e.value) and key in str(e.value)


def test_unparseable_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "detectors: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_policy(path)


def test_keyword_dictionary_with_thousands_of_terms(tmp_path: Path) -> None:
    terms = [f"codename{i:05d}" for i in range(5000)] + ["天穹计划", "Nightjar"]
    (tmp_path / "terms.txt").write_text("# project names\n" + "\n".join(terms), encoding="utf-8")
    path = write(tmp_path, """
        detectors: {enabled: ["custom.*"]}
        custom:
          - {id: custom.codenames, type: keywords, keywords_file: terms.txt, severity: high}
    """)
    scanner = Scanner(load_policy(path), hash_key=b"k")
    text = "关于天穹计划的说明：CODENAME04999 与 nightjar 同步；codename049990 不算。"
    found = scanner.scan_text(text)
    assert [f.detector for f in found] == ["custom.codenames"] * 3
    assert [f.severity.label for f in found] == ["high"] * 3
    assert [text[f.location.start:f.location.end].lower() for f in found] == ["天穹计划", "codename04999", "nightjar"]


def test_custom_regex_with_validator_and_disable(tmp_path: Path) -> None:
    path = write(tmp_path, """
        detectors: {enabled: ["custom.*"], disabled: ["custom.off"]}
        custom:
          - {id: custom.card_ref, type: regex, pattern: 'REF-([0-9]{16})', validator: luhn}
          - {id: custom.lookbehind, type: regex, pattern: '(?<=工号)[0-9]{6}'}
          - {id: custom.off, type: keywords, keywords: [REF]}
    """)
    scanner = Scanner(load_policy(path), hash_key=b"k")
    found = scanner.scan_text("REF-4111111111111111 REF-4111111111111112 工号123456")
    assert sorted(f.detector for f in found) == ["custom.card_ref", "custom.lookbehind"]


def test_severity_and_confidence_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, """
        detectors:
          enabled: ["custom.*"]
          settings:
            custom.k: {severity: critical, min_confidence: 0.95}
        custom:
          - {id: custom.k, type: keywords, keywords: [alpha], confidence: 0.8, hotwords: [project]}
    """)
    scanner = Scanner(load_policy(path), hash_key=b"k")
    assert scanner.scan_text("alpha") == []  # 0.8 < 0.95
    found = scanner.scan_text("project alpha")  # hotword raises confidence past the floor
    assert len(found) == 1 and found[0].severity.label == "critical"


def test_findings_never_carry_the_raw_value_unless_asked(tmp_path: Path) -> None:
    path = write(tmp_path, "detectors: {enabled: ['custom.*']}\ncustom: [{id: custom.k, type: keywords, keywords: [TopSecretName]}]\n")
    hidden = Scanner(load_policy(path), hash_key=b"k").findings_for(Segment(text="x TopSecretName y", path="f"))
    assert "TopSecretName" not in repr([f.to_dict() for f in hidden])
    shown = Scanner(load_policy(path), hash_key=b"k", show_values=True).scan_text("x TopSecretName y")
    assert shown[0].value == "TopSecretName"


def test_unreadable_or_short_hash_key_file_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEAKWARDEN_HASH_KEY", raising=False)
    path = write(tmp_path, "hash_key_file: missing.key\n")
    with pytest.raises(ConfigError, match="hash_key_file: cannot read"):
        Scanner(load_policy(path))
    (tmp_path / "short.key").write_text("abc\n")
    path = write(tmp_path, "hash_key_file: short.key\n")
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        Scanner(load_policy(path))
    (tmp_path / "good.key").write_text("0123456789abcdef0123\n")
    path = write(tmp_path, "hash_key_file: good.key\n")
    assert Scanner(load_policy(path)).hash_key == b"0123456789abcdef0123"
