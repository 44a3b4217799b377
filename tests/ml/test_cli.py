"""``leakwarden train`` and ``leakwarden evaluate`` on a tiny generated folder, run through the real CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detectors.extract.segment import Segment
from detectors.ml import model
from detectors.ml.detector import SensitiveDocumentDetector
from leakwarden.cli import main


def test_train_writes_a_loadable_model(tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "org.skops"
    assert main(["train", "--data", str(tiny_corpus), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    n_files = sum(1 for p in tiny_corpus.rglob("*.txt"))
    assert f"trained on {n_files} documents" in printed
    m = model.load(out)
    assert m.metadata["corpus_source"] == str(tiny_corpus)
    assert m.metadata["documents"] == n_files
    det = SensitiveDocumentDetector(out)
    memo = "内部备忘：报价底线不要告诉对方，裁员名单和薪酬调整方案等董事会定了再公布，先不要外传。" * 4
    assert list(det.scan(Segment(memo, "memo.txt")))


def test_evaluate_prints_cross_validated_figures(tiny_corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--data", str(tiny_corpus), "--folds", "3"]) == 0
    out = capsys.readouterr().out
    assert "whole groups held out" in out
    figures = {k: float(v) for k, v in re.findall(r"^(precision|recall|ROC-AUC):\s+([\d.]+)$", out, re.M)}
    assert set(figures) == {"precision", "recall", "ROC-AUC"}
    assert all(0.0 <= v <= 1.0 for v in figures.values())
    assert figures["ROC-AUC"] > 0.8  # unseen templates are still mostly ranked right


SHORT_TEXTS = {
    "sensitive": ["内部资料，裁员名单请勿外传。", "Salary review: keep confidential, do not share.",
                  "报价底线仅限谈判小组掌握。", "Board minutes: acquisition target, do not disclose.",
                  "绩效面谈记录，仅限人事部门查阅。", "Draft budget cuts for next year; staff not yet told.",
                  "董事会决议草案，公告前不得外传。", "Appraisal notes: performance plan, keep private.",
                  "客户名单及报价，内部使用。", "Negotiation brief: our walk-away price, internal only."],
    "public": ["今日天气晴，最高气温二十度。", "The council approved new bike lanes.",
               "本产品保修一年，请妥善保管说明书。", "Lesson 3: lists and dictionaries in Python.",
               "市图书馆周末延长开放时间。", "The museum reopens on Saturday with a new exhibition.",
               "本周六举行社区义诊活动，欢迎居民参加。", "Recipe: simmer the tomatoes for twenty minutes.",
               "地铁三号线将于下月开通试运营。", "The home team won the final two to one."],
}


def write_flat(root: Path, per_class: int) -> None:
    for label, texts in SHORT_TEXTS.items():
        (root / label).mkdir()
        for i, t in enumerate(texts[:per_class]):
            (root / label / f"d{i}.txt").write_text(t * 5, encoding="utf-8")


def test_evaluate_falls_back_to_stratified_folds_without_groups(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_flat(tmp_path, 10)
    assert main(["evaluate", "--data", str(tmp_path), "--folds", "3"]) == 0
    assert "stratified" in capsys.readouterr().out


def test_too_few_documents_per_class_is_refused_with_the_number_needed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_flat(tmp_path, model.MIN_PER_CLASS - 1)
    out = tmp_path / "m.skops"
    assert main(["train", "--data", str(tmp_path), "--out", str(out)]) == 2
    assert f"needs at least {model.MIN_PER_CLASS} non-empty documents" in capsys.readouterr().err
    assert not out.exists()


def test_evaluate_says_how_many_documents_it_needs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_flat(tmp_path, model.MIN_PER_CLASS)  # enough to train, not to hold a third out and still train
    assert main(["evaluate", "--data", str(tmp_path), "--folds", "3"]) == 2
    err = capsys.readouterr().err
    assert "3-fold evaluation needs at least 9 documents of each class" in err


def test_missing_layout_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sensitive").mkdir()
    (tmp_path / "sensitive" / "a.txt").write_text("x" * 300)
    out = tmp_path / "m.skops"
    assert main(["train", "--data", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'public/' is missing" in err
    assert not out.exists()
    assert main(["evaluate", "--data", str(tmp_path / "nowhere")]) == 2
    assert "training data folder not found" in capsys.readouterr().err


def test_one_class_only_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for label in ("sensitive", "public"):
        (tmp_path / label).mkdir()
    for i in range(model.MIN_PER_CLASS):
        (tmp_path / "sensitive" / f"{i}.txt").write_text("内部资料 " * 50, encoding="utf-8")
    (tmp_path / "public" / "empty.txt").write_text("   \n")
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "m.skops")]) == 2
    assert f"public: needs at least {model.MIN_PER_CLASS} non-empty documents to train and calibrate on, found 0" \
        in capsys.readouterr().err
