"""Calibration folds and the refusal to build a model that scores backwards (audit of issue 8).

With 4 sub-folders per class, unstratified group folds held out one class at a
time and `train` wrote a model with slope a=-1.94: its own HR records scored
p=0.004 and news p=0.997. These tests run the same shapes of data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detectors.ml import corpus, model, training
from leakwarden.cli import main
from leakwarden.errors import ModelError


def write_groups(root: Path, per_class: int, per_group: int, seed: int) -> None:
    """``per_class`` template sub-folders per class, ``per_group`` generated documents each."""
    rng = np.random.default_rng(seed)
    for label in (corpus.SENSITIVE, corpus.PUBLIC):
        templates = [t for t in corpus.TEMPLATES if t.label == label]
        for i in rng.choice(len(templates), per_class, replace=False):
            t = templates[i]
            (root / label / t.id).mkdir(parents=True)
            for j, doc in enumerate(corpus.generate(per_group, seed, templates=(t,))):
                (root / label / t.id / f"{j}.txt").write_text(doc.text, encoding="utf-8")


@pytest.mark.parametrize(("per_class", "folds"), [(2, 3), (3, 5), (4, 3), (5, 2), (9, 5)])
def test_every_fold_tests_and_trains_on_both_classes(per_class: int, folds: int) -> None:
    groups = [f"{lab}/{g}" for lab in ("s", "p") for g in range(per_class) for _ in range(3 + g)]
    y = np.array([int(g.startswith("s/")) for g in groups])
    parts, grouped = model.splits(y, groups, folds)
    assert grouped and len(parts) == min(folds, per_class)
    g = np.asarray(groups)
    for train, test in parts:
        assert set(y[test]) == {0, 1} and set(y[train]) == {0, 1}
        assert not set(g[train]) & set(g[test])  # whole groups held out
    assert sorted(np.concatenate([t for _, t in parts]).tolist()) == list(range(len(y)))


@pytest.mark.parametrize("seed", [0, 1])
def test_train_on_four_folders_per_class_does_not_score_backwards(
        tmp_path: Path, seed: int, capsys: pytest.CaptureFixture[str]) -> None:
    data, out = tmp_path / "data4", tmp_path / "m.skops"
    write_groups(data, per_class=4, per_group=8, seed=seed)
    rc = main(["train", "--data", str(data), "--out", str(out)])
    if rc != 0:  # refusing is acceptable; writing a backwards model is not
        assert rc == 2 and not out.exists() and "refusing" in capsys.readouterr().err
        return
    m = model.load(out)
    assert m.metadata["calibration"][0] > 0
    ds = training.load_folder(data)
    p = m.probabilities(ds.texts)
    y = np.asarray(ds.labels)
    assert p[y == 1].min() > 0.5 > p[y == 0].max()  # its own training documents, both classes right


def test_a_model_that_cannot_generalise_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # each held-out group shares its words with the *other* class's training group, so
    # out-of-fold scores are inverted: train must refuse, not calibrate with a < 0
    v1 = "harbour lantern copper meadow violet granite orchard falcon ".split()
    v2 = "quartz tundra saffron pylon marble cobalt juniper walrus ".split()
    rng = np.random.default_rng(3)
    for label, group, vocab in (("sensitive", "a", v1), ("public", "b", v1), ("sensitive", "b", v2), ("public", "a", v2)):
        (tmp_path / label / group).mkdir(parents=True)
        for j in range(6):
            words = rng.choice(vocab, 60).tolist() + [f"{label[0]}{group}{j}x"]
            (tmp_path / label / group / f"{j}.txt").write_text(" ".join(words), encoding="utf-8")
    out = tmp_path / "m.skops"
    assert main(["train", "--data", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "refusing to build a model that would score backwards" in err and "out-of-fold ROC-AUC" in err
    assert not out.exists()
    # evaluate reports it honestly: held-out groups are ranked backwards, and says so
    assert main(["evaluate", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert float(out.split("ROC-AUC:")[1].split()[0]) < 0.5
    assert "no better than chance" in out


def test_an_inverted_calibration_is_neither_saved_nor_loaded(tiny_model_path: Path, tmp_path: Path) -> None:
    m = model.load(tiny_model_path)
    m.metadata["calibration"] = (-1.94, 0.3)
    with pytest.raises(ModelError, match="slope a=-1.94 is not positive"):
        model.save(m, tmp_path / "backwards.skops")
    assert not (tmp_path / "backwards.skops").exists()
    # a file written some other way (an older LeakWarden) is refused on load
    payload = {**m.metadata, "pipeline": m.pipeline, "explain_buckets": m.explain_buckets,
               "explain_terms": "\n".join(m.explain_terms)}
    import skops.io as sio
    sio.dump(payload, tmp_path / "old.skops")
    with pytest.raises(ModelError, match=r"old\.skops: refused, .*calibration: slope a=-1.94"):
        model.load(tmp_path / "old.skops")


def test_evaluate_on_three_folders_per_class_reports_real_figures(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_groups(tmp_path, per_class=3, per_group=8, seed=0)
    assert main(["evaluate", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 folds (whole groups held out, both classes in every fold)" in out
    auc = float(out.split("ROC-AUC:")[1].split()[0])
    assert auc > 0.5  # was 0.000: fold calibrations with a < 0 turned every fold around
