from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.destinations import Destinations
from agent.devicepolicy import DevicePolicy
from leakwarden.cli import main as leakwarden_main
from leakwarden.errors import ConfigError
from tests.agent.conftest import REPO, write_config


def test_shipped_configs_are_valid() -> None:
    cfg = load_config(REPO / "configs" / "agent.yaml")
    assert cfg.files.roots and cfg.devices.policy and cfg.network.destinations
    dest = Destinations.load(cfg.network.destinations)
    assert dest.categorize("api.openai.com").name == "ai_services"
    assert dest.categorize("pan.baidu.com").forbidden
    assert dest.categorize("example.org") is None
    assert DevicePolicy.load(cfg.devices.policy).decide({"serial": "EXAMPLE-LOST-0001"}).severity == "critical"


@pytest.mark.parametrize(
    "text, key, problem",
    [
        ("state_dir: /x\nfiles: {rots: [/tmp]}\n", "files.rots", "unknown key"),
        ("state_dir: /x\nbudget: {workers: 0}\n", "budget.workers", "between 1 and 64"),
        ("state_dir: /x\nbudget: {max_file_size: big}\n", "budget.max_file_size", "non-negative integer"),
        ("state_dir: /x\ncollector: {url: ftp://h}\n", "collector.url", "http://"),
        ("state_dir: /x\nnetwork: {internal_networks: [not-a-net]}\n", "network.internal_networks[0]", "not a network"),
        ("files: {}\n", "state_dir", "is required"),
        ("state_dir: /x\nfiles: {roots: /tmp}\n", "files.roots", "list of non-empty strings"),
        ("state_dir: [1\n", "", "not valid YAML"),
        ("state_dir: /x\nnetwork: {volume_factor: 10}\n", "network.volume_factor", "unknown key"),
        ("state_dir: /x\nbaselines: {warmup_days: soon}\n", "baselines.warmup_days", "non-negative integer"),
        ("state_dir: /x\nbaselines: {threshold: 0}\n", "baselines.threshold", "must be > 0"),
        ("state_dir: /x\nbaselines: {max_destinations: 3}\n", "baselines.max_destinations", "at least 10"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert e.value.source == str(path)
    assert e.value.key == key
    assert problem in e.value.problem


def test_bad_policy_files_name_their_key(tmp_path: Path) -> None:
    d = tmp_path / "devices.yaml"
    d.write_text("rules:\n  - id: '0781'\n    action: block\n")
    with pytest.raises(ConfigError, match=r"devices.yaml: rules\[0\].id: must be vendor:product"):
        DevicePolicy.load(str(d))
    d.write_text("rules:\n  - serial: X\n    action: explode\n")
    with pytest.raises(ConfigError, match=r"rules\[0\].action"):
        DevicePolicy.load(str(d))
    n = tmp_path / "dest.yaml"
    n.write_text("categories:\n  ai:\n    forbidden: yes-please\n    domains: [a.com]\n")
    with pytest.raises(ConfigError, match="categories.ai.forbidden"):
        Destinations.load(str(n))
    n.write_text("categories:\n  ai:\n    domains: ['not a domain']\n")
    with pytest.raises(ConfigError, match=r"categories.ai.domains\[0\]"):
        Destinations.load(str(n))


def test_cli_check_reports_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    assert leakwarden_main(["agent", "--config", cfg.source, "--check"]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("state_dir: /x\nspool: {near_full: 3}\n")
    assert leakwarden_main(["agent", "--config", str(bad), "--check"]) == 2
    assert "spool.near_full" in capsys.readouterr().err


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "agent.yaml"
    path.write_text("state_dir: st\nfiles: {roots: [../data]}\n")
    cfg = load_config(path)
    assert cfg.state_dir == str(tmp_path / "sub" / "st")
    assert cfg.files.roots == (str(tmp_path / "data"),)


@pytest.mark.parametrize("key", ["devices.policy", "network.destinations", "detection.policy"])
def test_a_missing_referenced_file_names_its_key(tmp_path: Path, key: str) -> None:
    section, name = key.split(".")
    path = tmp_path / "t.yaml"
    path.write_text(f"state_dir: st\n{section}: {{{name}: nonexist.yaml}}\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert e.value.source == str(path) and e.value.key == key
    assert f"cannot read referenced file {tmp_path / 'nonexist.yaml'}" in e.value.problem


def test_settle_longer_than_max_delay_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("state_dir: st\nfiles: {settle: 5, max_delay: 1}\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert e.value.key == "files.settle" and "max_delay" in e.value.problem


def test_check_warns_about_a_root_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, files={"roots": [str(tmp_path / "not-yet")]})
    assert leakwarden_main(["agent", "--config", cfg.source, "--check"]) == 0  # a root may appear later
    err = capsys.readouterr().err
    assert "warning" in err and "files.roots[0]" in err and str(tmp_path / "not-yet") in err and "does not exist" in err


def _ml_policy(tmp_path: Path, model: Path) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\nml: {{enabled: true, threshold: 0.7, model: {model.name}}}\n")
    return policy


def test_a_bad_ml_model_fails_check_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--check loads what the agent loads, the model included: a broken model is rc 2, no traceback."""
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"this is not a zip archive")
    cfg = write_config(tmp_path, detection={"policy": str(_ml_policy(tmp_path, bad))})
    assert leakwarden_main(["agent", "--config", cfg.source, "--check"]) == 2
    err = capsys.readouterr().err
    assert "policy.yaml: ml.model:" in err and str(bad) in err and "Traceback" not in err


def test_config_hash_covers_the_model_and_the_hash_key_without_revealing_it(tmp_path: Path) -> None:
    from detectors.ml.model import default_model_path

    model = tmp_path / "model.skops"
    model.write_bytes(default_model_path().read_bytes())
    policy = _ml_policy(tmp_path, model)
    first = write_config(tmp_path, detection={"policy": str(policy)})
    model.write_bytes(model.read_bytes() + b"\0")  # a swapped model file
    second = load_config(first.source)
    assert second.config_hash != first.config_hash and str(model) in second.extra_hashed_files
    key = tmp_path / "hash.key"
    key.write_bytes(b"another-organisation-key-0123456789")
    third = load_config(first.source)
    assert third.config_hash != second.config_hash
    assert third.key_fingerprint and third.key_fingerprint != first.key_fingerprint
    assert key.read_bytes().hex()[:16] not in third.key_fingerprint and b"another" not in third.key_fingerprint.encode()


def test_shipped_agent_config_scans_with_patterns_and_ml(tmp_path: Path) -> None:
    from agent.policies import load_policies

    cfg = load_config(REPO / "configs" / "agent.yaml")
    assert cfg.detection_policy == str(REPO / "configs" / "policies" / "endpoint.yaml")
    detectors = {d.id for d in load_policies(cfg).detector.engine.detectors}
    assert "ml.sensitive_document" in detectors and "pii.cn_resident_id" in detectors
