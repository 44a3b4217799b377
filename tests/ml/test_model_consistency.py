"""Model files whose parameters do not fit together, and what a scan does when the ML detector fails.

The audit edited only ``bits`` in a model's schema.json: the file loaded, and every
scan with it lost all findings of the file ("internal error: IndexError", rc 0),
including an ID number the pattern detectors had found; bits=40 tried to allocate
8 TiB. The file must be refused on load, naming the file and the field; and a
full-text detector that fails anyway must not cost a file its pattern findings.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from detectors.ml import model
from detectors.ml.detector import SensitiveDocumentDetector
from detectors.policy import load_policy
from detectors.scan import Scanner
from leakwarden.cli import main
from leakwarden.errors import ModelError

ID = "110105199003071239"  # GB 11643-valid synthetic identity number
MEMO = ("内部备忘：裁员名单我整理好了，研发部先减八个人。留下的骨干每人加薪百分之十，预算一百二十万元。"
        "这件事先不要让员工知道，等董事会批了再公布。客户那边的报价底线也先别透露给销售。\n") * 3


def edit_schema(src: Path, dst: Path, edit: "callable") -> None:  # type: ignore[valid-type]
    """Copy a skops archive, rewriting its schema.json with ``edit`` (a hand edit of the file)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "schema.json":
                data = edit(data.decode()).encode()
            zout.writestr(item, data)


def set_param(schema: str, name: str, value: str) -> str:
    out, n = re.subn(rf'("{name}": \{{[^{{}}]*?"content": )"[^"]*"', rf'\1"{value}"', schema, count=1)
    assert n == 1, f"no {name} in schema.json"
    return out


@pytest.mark.parametrize(("name", "value", "field"), [
    ("bits", "20", "tfidf.idf_"),        # the audit's edit: 2**20 buckets, 2**18 weights
    ("bits", "40", "features.bits"),     # would allocate 8 TiB
    ("ngram_max", "0", "features.ngram_max"),
    ("max_chars", "-5", "features.max_chars"),
])
def test_a_hand_edited_parameter_is_refused_naming_file_and_field(
        tiny_model_path: Path, tmp_path: Path, name: str, value: str, field: str) -> None:
    bad = tmp_path / f"edited-{name}.skops"
    edit_schema(tiny_model_path, bad, lambda s: set_param(s, name, value))
    with pytest.raises(ModelError) as e:
        model.load(bad)
    assert str(bad) in str(e.value) and field in str(e.value)


def test_weights_of_another_shape_are_refused(tiny_model_path: Path, tmp_path: Path) -> None:
    m = model.load(tiny_model_path)
    clf = m.pipeline.named_steps["clf"]
    clf.coef_ = clf.coef_[:, : clf.coef_.shape[1] // 2].copy()
    model.save(m, tmp_path / "half.skops")
    with pytest.raises(ModelError, match=r"half\.skops: .*clf\.coef_: expected float array of shape \(1, \d+\)"):
        model.load(tmp_path / "half.skops")
    m = model.load(tiny_model_path)
    m.explain_buckets = m.explain_buckets[::-1].copy()
    model.save(m, tmp_path / "unsorted.skops")
    with pytest.raises(ModelError, match="explain_buckets: must be increasing"):
        model.load(tmp_path / "unsorted.skops")
    m = model.load(tiny_model_path)
    m.pipeline.named_steps["tfidf"].sublinear_tf = False  # Model.score would weigh differently from the pipeline
    model.save(m, tmp_path / "linear.skops")
    with pytest.raises(ModelError, match="tfidf.sublinear_tf: False, expected True"):
        model.load(tmp_path / "linear.skops")


@pytest.fixture()
def ml_policy(tmp_path: Path, tiny_model_path: Path) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\nml:\n  enabled: true\n  threshold: 0.5\n  model: {tiny_model_path}\n")
    return policy


def test_a_failing_ml_detector_keeps_the_pattern_findings(
        ml_policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("LEAKWARDEN_HASH_KEY", "00112233445566778899")
    scanner = Scanner(load_policy(str(ml_policy)))
    (det,) = [d for d in scanner.engine.detectors if isinstance(d, SensitiveDocumentDetector)]
    doc = tmp_path / "hr.txt"
    doc.write_text(f"员工身份证号：{ID}。\n{MEMO}", encoding="utf-8")
    healthy = scanner.scan_path(doc)
    assert {f.detector for f in healthy.findings} >= {"pii.cn_resident_id", "ml.sensitive_document"}
    # damage the loaded model in memory the way the audit's edited file did (fault injection:
    # load() now refuses such a file, so this is the only way left to make the detector fail)
    det.model.hasher.bits = 20
    det._cache.clear()
    result = scanner.scan_path(doc)
    assert result.error is None
    assert [f.detector for f in result.findings] == ["pii.cn_resident_id"]
    assert result.warnings == [f"{doc}: detector ml.sensitive_document failed (IndexError); "
                               "its verdict is missing, other findings are kept"]
    assert "ml.sensitive_document failed" in caplog.text and ID not in caplog.text


def test_scan_with_a_garbage_model_is_a_clean_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.skops"
    garbage.write_bytes(b"\x80\x04\x95 not a model at all")
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\nml:\n  enabled: true\n  model: {garbage}\n")
    (tmp_path / "doc.txt").write_text(MEMO, encoding="utf-8")
    rc = main(["scan", "--no-progress", "--policy", str(policy), str(tmp_path / "doc.txt")])
    out, err = capsys.readouterr()
    assert rc == 2  # 1 would read as "findings"
    assert "Traceback" not in err and str(garbage) in err and "not a readable skops model" in err


def test_scan_with_an_edited_model_is_a_clean_error(
        tiny_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "edited.skops"
    edit_schema(tiny_model_path, bad, lambda s: set_param(s, "bits", "20"))
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\nml:\n  enabled: true\n  model: {bad}\n")
    (tmp_path / "doc.txt").write_text(f"身份证号 {ID}\n{MEMO}", encoding="utf-8")
    rc = main(["scan", "--no-progress", "--format", "json", "--policy", str(policy), str(tmp_path / "doc.txt")])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and "features.bits=20" in err and str(bad) in err
