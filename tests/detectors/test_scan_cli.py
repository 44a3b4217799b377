"""`leakwarden scan`: the output contract of DESIGN.md, exit statuses, bad input per file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from leakwarden.cli import main

ID = "110105199003071239"  # GB 11643-valid test identity number (synthetic)
# A clean sentence in both languages: no finding expected.
CLEAN = "The quarterly review meeting has been moved to Thursday afternoon.\n会议改到周四下午。\n"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKWARDEN_HASH_KEY", "00112233445566778899")


def scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["scan", "--no-progress", *args])
    out, err = capsys.readouterr()
    return code, out, err


def jsonl(out: str) -> dict[str, dict]:
    return {o["path"]: o for o in map(json.loads, out.splitlines())}


def test_jsonl_contract_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "hr.txt").write_text(f"员工身份证号：{ID}。\n", encoding="utf-8")
    (tmp_path / "clean.txt").write_text(CLEAN, encoding="utf-8")
    code, out, _ = scan(capsys, "--format", "jsonl", str(tmp_path))
    assert code == 1
    results = jsonl(out)
    assert set(results) == {str(tmp_path / "sub" / "hr.txt"), str(tmp_path / "clean.txt")}
    hr = results[str(tmp_path / "sub" / "hr.txt")]
    assert hr["error"] is None
    [finding] = hr["findings"]
    assert finding["detector"] == "pii.cn_resident_id"
    assert finding["location"]["line"] == 1 and finding["location"]["start"] == 7
    assert ID not in out and finding["masked"].startswith("110") and "*" in finding["masked"]
    assert len(finding["hash"]) == 64 and finding["severity"] in ("high", "critical")
    assert results[str(tmp_path / "clean.txt")]["findings"] == []
    code, _, _ = scan(capsys, "--format", "jsonl", str(tmp_path / "clean.txt"))
    assert code == 0


def test_show_values_prints_raw_values_only_on_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.txt"
    f.write_text(f"身份证 {ID}\n", encoding="utf-8")
    assert ID not in scan(capsys, "--format", "json", str(f))[1]
    assert ID in scan(capsys, "--format", "json", "--show-values", str(f))[1]


def test_same_value_same_hash_across_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(f"身份证：{ID}\n", encoding="utf-8")
    results = jsonl(scan(capsys, "--format", "jsonl", str(tmp_path))[1])
    hashes = {o["findings"][0]["hash"] for o in results.values()}
    assert len(hashes) == 1


def test_json_and_text_formats_have_summaries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.txt"
    f.write_text(f"身份证：{ID}\n", encoding="utf-8")
    code, out, _ = scan(capsys, "--format", "json", str(f))
    doc = json.loads(out)
    assert code == 1 and doc["summary"]["findings"] == 1 and doc["files"][0]["path"] == str(f)
    code, out, _ = scan(capsys, str(f))
    assert f"{f}:1: pii.cn_resident_id" in out
    assert out.strip().splitlines()[-1].startswith("Scanned 1 files") and "1 findings in 1 files" in out


def test_text_output_says_why_a_file_was_skipped_and_counts_only_bytes_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blob = tmp_path / "firmware.bin"
    blob.write_bytes(bytes(range(256)) * 4000)  # ~1 MB of binary: skipped, not read as text
    code, out, _ = scan(capsys, str(blob))
    assert code == 0
    assert f"{blob}: skipped: " in out
    assert "(0.0 MB)" in out.strip().splitlines()[-1] and "1 skipped" in out


def test_exclude_globs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.txt").write_text(f"身份证 {ID}", encoding="utf-8")
    (tmp_path / "keep.log").write_text(f"身份证 {ID}", encoding="utf-8")
    (tmp_path / "skip.log").write_text(f"身份证 {ID}", encoding="utf-8")
    out = scan(capsys, "--format", "jsonl", "--exclude", "node_modules", "--exclude", "skip.*", str(tmp_path))[1]
    assert list(jsonl(out)) == [str(tmp_path / "keep.log")]


def test_missing_path_and_bad_policy_stop_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = scan(capsys, "--format", "jsonl", str(tmp_path / "nope"))
    assert code == 2 and jsonl(out)[str(tmp_path / "nope")]["error"]
    bad = tmp_path / "p.yaml"
    bad.write_text("min_confidence: yes-please\n")
    code, out, err = scan(capsys, "--policy", str(bad), str(tmp_path))
    assert code == 2 and "p.yaml: min_confidence: must be a number" in err and out == ""


def test_bad_files_are_reported_and_the_scan_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(tmp_path / "a_fifo")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    (tmp_path / "dirlink").symlink_to(tmp_path)  # a directory loop
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\xfa\x00\x80 valid " + ID.encode() + b" \xc3\x28\n")
    (tmp_path / "zz_good.txt").write_text(f"身份证 {ID}\n", encoding="utf-8")
    (tmp_path / "dev_null").symlink_to("/dev/null")
    code, out, _ = scan(capsys, "--format", "jsonl", str(tmp_path))
    results = jsonl(out)
    assert code == 1
    assert results[str(tmp_path / "a_fifo")]["error"]
    assert results[str(tmp_path / "loop")]["error"]
    assert results[str(tmp_path / "dangling")]["error"] == "dangling symbolic link"
    assert results[str(tmp_path / "dev_null")]["error"]
    assert results[str(tmp_path / "zz_good.txt")]["findings"]
    assert not any(p.startswith(str(tmp_path / "dirlink")) for p in results)  # the loop was not followed


def test_console_script_runs(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text(CLEAN, encoding="utf-8")
    exe = Path(sys.executable).parent / "leakwarden"
    proc = subprocess.run([str(exe), "scan", "--format", "jsonl", str(f)], capture_output=True, text=True,
                          env={**os.environ, "LEAKWARDEN_HASH_KEY": "aa"}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"path": str(f), "findings": [], "error": None, "media_type": "text/plain"}


def test_findings_past_the_per_file_cap_are_counted_not_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.e2e.burst import resident_id

    policy = tmp_path / "p.yaml"
    policy.write_text("max_findings_per_file: 5\n")
    f = tmp_path / "many.txt"
    f.write_text("".join(f"身份证 {resident_id(i)}\n" for i in range(20)), encoding="utf-8")
    code, out, _ = scan(capsys, "--format", "jsonl", "--policy", str(policy), str(f))
    result = jsonl(out)[str(f)]
    assert code == 1 and len(result["findings"]) == 5 and result["omitted"] == {"pii.cn_resident_id": 15}
    code, out, _ = scan(capsys, "--policy", str(policy), str(f))
    assert "15 more findings not listed" in out and "20 findings in 1 files" in out


def test_progress_moves_inside_one_large_file(tmp_path: Path) -> None:
    from detectors.policy import load_policy
    from detectors.scan import Scanner
    big = tmp_path / "big.log"
    big.write_text("an ordinary log line with nothing in it\n" * 150_000, encoding="utf-8")  # ~6 MB
    seen: list[int] = []
    result = Scanner(load_policy(None), hash_key=b"k" * 32).scan_path(big, progress=seen.append)
    assert result.error is None and len(seen) >= 3  # one call per chunk, not one per file
    assert seen == sorted(seen) and seen[-1] == result.bytes_scanned == big.stat().st_size
