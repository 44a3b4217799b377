"""Reading a labelled folder, training on it, and cross-validated evaluation.

Folder layout (``leakwarden train --data DIR``)::

    DIR/sensitive/**/*   documents that must be flagged
    DIR/public/**/*      documents that must not

Files are read as UTF-8 text (other bytes are replaced; empty files are
skipped). For evaluation, documents are grouped so that a whole group is held
out at once: the first folder level under ``sensitive/`` or ``public/`` when
there is one (``sensitive/contracts/a.txt`` -> group ``sensitive/contracts``),
else the file-name prefix before ``__`` (the bundled corpus names files
``<template>__0001.txt``), else the file itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import precision_score, recall_score, roc_auc_score

from detectors.ml import model as ml_model
from detectors.ml.gate import skip_reason
from leakwarden.errors import ModelError

LABELS = {"sensitive": 1, "public": 0}
#: documents are read up to this size: the classifier only looks at the head
MAX_READ = 1 << 20


@dataclass
class Dataset:
    texts: list[str]
    labels: list[int]
    groups: list[str]
    paths: list[str]


def load_folder(directory: str | Path) -> Dataset:
    root = Path(directory)
    if not root.is_dir():
        raise ModelError(f"{root}: training data folder not found")
    data = Dataset([], [], [], [])
    for name, label in LABELS.items():
        sub = root / name
        if not sub.is_dir():
            raise ModelError(f"{root}: expected sub-folders 'sensitive/' and 'public/'; '{name}/' is missing")
        for path in sorted(p for p in sub.rglob("*") if p.is_file()):
            with path.open("rb") as f:
                text = f.read(MAX_READ).decode("utf-8", "replace")
            if not text.strip():
                continue
            rel = path.relative_to(sub)
            if len(rel.parts) > 1:
                group = f"{name}/{rel.parts[0]}"
            elif "__" in path.stem:
                group = f"{name}/{path.stem.split('__', 1)[0]}"
            else:
                group = f"{name}/{rel}"
            data.texts.append(text)
            data.labels.append(label)
            data.groups.append(group)
            data.paths.append(str(path))
    for name, label in LABELS.items():
        if data.labels.count(label) < ml_model.MIN_PER_CLASS:
            raise ModelError(f"{root}/{name}: needs at least {ml_model.MIN_PER_CLASS} non-empty documents "
                             f"to train and calibrate on, found {data.labels.count(label)}")
    return data


@dataclass
class Evaluation:
    folds: int
    grouped: bool
    precision: float
    recall: float
    roc_auc: float
    threshold: float
    documents: int
    false_positives: list[str]
    false_negatives: list[str]
    #: (documents the detector's pre-check would skip, of them sensitive, recall counting them missed)
    precheck: tuple[int, int, float] = (0, 0, 0.0)
    failed_folds: list[str] = field(default_factory=list)

    def report(self) -> str:
        how = "whole groups held out, both classes in every fold" if self.grouped else "stratified, documents held out"
        return "\n".join([
            *(f"warning: {f}" for f in self.failed_folds),
            f"documents: {self.documents}   cross-validation: {self.folds} folds ({how})",
            f"threshold: {self.threshold:.2f}",
            f"precision: {self.precision:.3f}",
            f"recall:    {self.recall:.3f}",
            f"ROC-AUC:   {self.roc_auc:.3f}",
            f"pre-check: the detector would skip {self.precheck[0]} of {self.documents} documents as machine text "
            f"({self.precheck[1]} sensitive); recall counting them as missed: {self.precheck[2]:.3f}",
            *(["warning: held-out documents are ranked no better than chance (ROC-AUC <= 0.5): the classifier "
               "does not generalise to unseen groups of this data, and `leakwarden train` may refuse it; "
               "add more, and more varied, documents of each class"] if self.roc_auc <= 0.5 else []),
        ])


def cross_validate(data: Dataset, *, folds: int = 5, threshold: float = 0.5, c: float = 8.0) -> tuple[Evaluation, np.ndarray]:
    """Out-of-fold probabilities for every document, each from a model trained
    (and calibrated) without the document's group.

    Folds are stratified (each tests both classes, see
    :func:`detectors.ml.model.splits`), and every training fold must be big
    enough for :func:`detectors.ml.model.train`; otherwise a :class:`ModelError`
    says how many documents per class are needed.
    """
    y = np.asarray(data.labels, dtype=np.int64)
    folds_, grouped = ml_model.splits(y, data.groups, folds)
    k = len(folds_)
    needed = -(-ml_model.MIN_PER_CLASS * k // (k - 1))  # so that each training fold keeps MIN_PER_CLASS
    prob = np.zeros(len(y))
    texts = np.asarray(data.texts, dtype=object)
    groups = np.asarray(data.groups)
    failed: list[str] = []
    for i, (train_idx, test_idx) in enumerate(folds_, 1):
        where = f"fold {i} of {k} ({'whole groups' if grouped else 'stratified'})"
        if problem := ml_model.too_few(y[train_idx]):
            raise ModelError(f"{where}: {problem}; {k}-fold evaluation needs at least {needed} documents "
                             f"of each class (found {int(y.sum())} sensitive, {int(len(y) - y.sum())} public)")
        try:
            m = ml_model.train(list(texts[train_idx]), y[train_idx], groups=list(groups[train_idx]), c=c, explain=False)
        except ModelError as e:
            # what `train` would do on this data: refuse. Its test documents stay at p=0 (not
            # flagged), so the figures count them as missed rather than hide the fold.
            failed.append(f"{where}: no model, {len(test_idx)} documents count as not flagged: {e}")
            continue
        prob[test_idx] = m.probabilities(list(texts[test_idx]))
    if len(failed) == k:
        raise ModelError("no fold could be trained:\n" + "\n".join(failed))
    pred = prob >= threshold
    skipped = np.array([skip_reason(t) is not None for t in data.texts], dtype=bool)
    ev = Evaluation(
        folds=k,
        grouped=grouped,
        precision=float(precision_score(y, pred, zero_division=0)),
        recall=float(recall_score(y, pred, zero_division=0)),
        roc_auc=float(roc_auc_score(y, prob)),
        threshold=threshold,
        documents=len(y),
        false_positives=[p for p, t, q in zip(data.paths, y, pred) if q and not t],
        false_negatives=[p for p, t, q in zip(data.paths, y, pred) if t and not q],
        failed_folds=failed,
        precheck=(int(skipped.sum()), int(skipped[y == 1].sum()),
                  float(recall_score(y, pred & ~skipped, zero_division=0))),
    )
    return ev, prob


def train_folder(directory: str | Path, *, c: float = 8.0) -> ml_model.Model:
    data = load_folder(directory)
    return ml_model.train(data.texts, data.labels, groups=data.groups, c=c, source=str(directory))


def train_bundled(per_template: int = 24, seed: int = 20261129, c: float = 8.0) -> ml_model.Model:
    """The shipped model: trained on the generated corpus of :mod:`detectors.ml.corpus`."""
    from detectors.ml import corpus, corpus_vocab

    docs = corpus.generate(per_template, seed)
    return ml_model.train(
        [d.text for d in docs],
        [int(d.label == corpus.SENSITIVE) for d in docs],
        groups=[d.group for d in docs],
        c=c,
        source=f"bundled corpus (detectors.ml.corpus, {len(corpus.TEMPLATES)} templates, "
               f"{per_template} per template, seed {seed})",
        exclude_terms=corpus_vocab.filler_terms(),
    )
