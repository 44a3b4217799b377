"""Failures of `leakwarden` itself never exit with 1 (which means "findings")
and never print a traceback unless asked: bad policies and key folders are one
line naming file and key, status 2; a closed output pipe ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from detectors.scan import load_hash_key
from leakwarden.cli import EXIT_PIPE_CLOSED, main
from leakwarden.errors import ConfigError

ID = "110105199003071239"
LW = [sys.executable, "-m", "leakwarden.cli"]


def run(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "LEAKWARDEN_HASH_KEY": "00112233445566778899", **(env or {})}
    full.pop("LEAKWARDEN_DEBUG", None)
    return subprocess.run([*LW, *args], capture_output=True, text=True, env=full, timeout=60, **kw)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    p = tmp_path / "a.txt"
    p.write_text(f"身份证 {ID}\n", encoding="utf-8")
    return p


def test_unwritable_hash_key_folder_is_a_clean_error(sample: Path) -> None:
    env = {"XDG_DATA_HOME": "/proc/nope", "LEAKWARDEN_HASH_KEY": ""}
    r = run("scan", str(sample), env=env)
    assert r.returncode == 2 and r.stdout == ""
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "/proc/nope/leakwarden/hash.key" in r.stderr


@pytest.mark.parametrize("limits, key", [
    ("{chunk_chars: 1000, overlap_chars: 5000}", "limits.overlap_chars"),
    ("{chunk_chars: 10000, overlap_chars: 8192}", "limits.chunk_chars"),
    ("{max_ratio: 1}", "limits.max_ratio"),
])
def test_inconsistent_limits_name_file_and_key(tmp_path: Path, sample: Path, limits: str, key: str) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(f"limits: {limits}\n")
    r = run("scan", "--policy", str(policy), str(sample))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == r.stderr.strip().splitlines()[0]
    assert f"{policy}: {key}: " in r.stderr


def test_closed_output_pipe_ends_quietly(tmp_path: Path) -> None:
    for i in range(400):  # far more output than a pipe buffer holds
        (tmp_path / f"f{i:03d}.txt").write_text(f"身份证 {ID}\n", encoding="utf-8")
    env = {**os.environ, "LEAKWARDEN_HASH_KEY": "00112233445566778899"}
    proc = subprocess.Popen([*LW, "scan", "--format", "jsonl", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b'{"path"')
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == EXIT_PIPE_CLOSED
    assert err == ""


def test_unexpected_error_is_status_2_with_a_short_message(monkeypatch, capsys, sample: Path) -> None:
    # A bug cannot be produced on purpose through real input, so one is planted:
    # the scanner's constructor raises.
    import detectors.cli

    def broken(*a: object, **k: object) -> None:
        raise RuntimeError("planted bug\nsecond line")

    monkeypatch.setattr(detectors.cli, "Scanner", broken)
    monkeypatch.delenv("LEAKWARDEN_DEBUG", raising=False)
    assert main(["scan", str(sample)]) == 2
    err = capsys.readouterr().err
    assert err == ("leakwarden scan: internal error: RuntimeError: planted bug "
                   "(run with --debug or LEAKWARDEN_DEBUG=1 for details)\n")
    assert main(["--debug", "scan", str(sample)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "planted bug" in err


def test_leakwarden_errors_from_any_command_are_one_line(monkeypatch, capsys, sample: Path) -> None:
    import detectors.cli

    def refuse(*a: object, **k: object) -> None:
        raise ConfigError("/etc/x.yaml", "some.key", "is wrong")

    monkeypatch.setattr(detectors.cli, "load_policy", refuse)
    # detectors.cli catches ConfigError itself; main's handler is the net for the rest
    assert main(["scan", str(sample)]) == 2
    assert capsys.readouterr().err == "leakwarden scan: /etc/x.yaml: some.key: is wrong\n"


# -- the per-user hash key ------------------------------------------------------

def test_first_scans_racing_all_get_the_one_key(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("LEAKWARDEN_HASH_KEY", raising=False)
    for round_ in range(10):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / f"r{round_}"))
        start = threading.Barrier(8)
        keys: list[bytes | BaseException] = []

        def first_scan() -> None:
            start.wait()
            try:
                keys.append(load_hash_key(None))
            except BaseException as e:  # noqa: BLE001 - the test reports it
                keys.append(e)

        threads = [threading.Thread(target=first_scan) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        path = tmp_path / f"r{round_}" / "leakwarden" / "hash.key"
        assert keys == [path.read_bytes().strip()] * 8
        assert len(keys[0]) == 64 and (path.stat().st_mode & 0o777) == 0o600
        assert os.listdir(path.parent) == ["hash.key"]  # no temporary file left


def test_unreadable_or_short_key_files_are_config_errors(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("LEAKWARDEN_HASH_KEY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    key = tmp_path / "leakwarden" / "hash.key"
    key.parent.mkdir()
    key.write_bytes(b"")
    with pytest.raises(ConfigError, match="shorter than 16 bytes") as e:
        load_hash_key(None)
    assert e.value.source == str(key)
    key.unlink()
    key.mkdir()  # a directory where the key should be
    with pytest.raises(ConfigError, match="cannot be read") as e:
        load_hash_key(None)
    assert e.value.source == str(key)
