"""The sensitive-document classifier: building, scoring, explaining, safe saving and loading.

The pipeline is :class:`~detectors.ml.features.CharWordHasher` (character
1..3-grams and Latin words, hashed into 2**18 buckets) -> TF-IDF (sublinear tf,
l2) -> logistic regression, whose coefficients explain a verdict directly
(contribution of a feature = its tf-idf weight x its coefficient). Its decision
value is turned into a probability by Platt scaling fitted on documents of
held-out groups (:func:`train`), so probabilities hold for unseen kinds of text.

Model files are skops archives, never pickle. Loading first lists the types
the file would instantiate and refuses the file unless every one is in
:data:`TRUSTED_TYPES`; a file that is not a skops archive, is truncated, was
written for another purpose or by an incompatible format version is refused
with :class:`~leakwarden.errors.ModelError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import skops.io as sio
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from detectors.ml.features import CharWordHasher, normalise
from leakwarden.errors import ModelError

FORMAT = "leakwarden.ml.sensitive_document"
FORMAT_VERSION = 1
DEFAULT_MODEL = "sensitive_document.skops"

#: the types a model file may make skops build beyond its own safe defaults; anything else
#: is refused before loading (the sklearn/NumPy entries keep loading stable if skops
#: narrows its defaults)
TRUSTED_TYPES: tuple[str, ...] = (
    "detectors.ml.features.CharWordHasher",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.tuple",
)

#: an explanation names a whole Latin word or a run of 2-3 Han characters, nothing else:
#: no digits (folded to 0), no @, no punctuation, so no ID, number, address or token shape
_EXPLAINABLE = re.compile(r"[a-z]{3,24}|[\u3400-\u9fff]{2,3}")


def default_model_path() -> Path:
    return Path(str(resources.files("detectors.ml").joinpath(DEFAULT_MODEL)))


def build_pipeline(c: float = 8.0) -> Pipeline:
    return Pipeline([
        ("features", CharWordHasher()),
        ("tfidf", TfidfTransformer(sublinear_tf=True)),
        # dual coordinate descent: fast when features (2**18) far outnumber documents
        ("clf", LogisticRegression(C=c, solver="liblinear", dual=True, max_iter=2000, class_weight="balanced")),
    ])


def corpus_hash(texts: Sequence[str], labels: Sequence[int]) -> str:
    """SHA-256 over the sorted (label, text) pairs: the same corpus gives the same hash."""
    h = hashlib.sha256()
    for lab, text in sorted(zip(labels, texts)):
        h.update(f"{lab}\0{len(text)}\0".encode())
        h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def is_explainable(term: str) -> bool:
    """A term may appear in an explanation: no digit shape, address or long token."""
    return _EXPLAINABLE.fullmatch(term) is not None and term not in ENGLISH_STOP_WORDS


@dataclass
class Model:
    """A trained classifier plus what is needed to explain and audit it."""

    pipeline: Pipeline
    explain_buckets: np.ndarray  # sorted buckets that may be named in explanations
    explain_terms: list[str]  # the training-corpus term of each bucket
    metadata: dict[str, Any]

    @property
    def hasher(self) -> CharWordHasher:
        return self.pipeline.named_steps["features"]

    def calibrated(self, decision: np.ndarray) -> np.ndarray:
        """Probability of 'sensitive' from the linear decision value (Platt scaling).

        The scaling was fitted on out-of-fold decisions for documents of
        *held-out groups* (templates, folders), so 0.7 means "70% of unseen
        documents scoring like this were sensitive", not the over-confident
        in-sample figure a plain logistic regression reports.
        """
        a, b = self.metadata.get("calibration", (1.0, 0.0))
        return 1.0 / (1.0 + np.exp(-(a * decision + b)))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return self.calibrated(self.pipeline.decision_function(list(texts)))

    def score(self, text: str) -> tuple[float, np.ndarray, np.ndarray]:
        """(probability, buckets, contributions) of one text.

        The same arithmetic as the pipeline's TF-IDF and logistic regression
        (sublinear tf x idf, l2 norm, dot coefficients), done directly on the
        document's non-zero buckets: the per-call overhead of three scikit-learn
        estimators would otherwise cost more than the features themselves.
        """
        idx, counts = self.hasher.row(text)
        tfidf: TfidfTransformer = self.pipeline.named_steps["tfidf"]
        clf: LogisticRegression = self.pipeline.named_steps["clf"]
        w = (1.0 + np.log(counts)) * tfidf.idf_[idx]
        norm = np.sqrt(np.dot(w, w))
        if norm > 0:
            w /= norm
        contrib = w * clf.coef_[0][idx]
        decision = float(contrib.sum() + clf.intercept_[0])
        return float(self.calibrated(np.array([decision]))[0]), idx, contrib

    def explain(self, text: str, buckets: np.ndarray, contrib: np.ndarray, top: int = 8) -> list[str]:
        """The terms that pushed a text towards 'sensitive', strongest first.

        Only terms from the training corpus's vocabulary are named (never text
        that occurs only in the scanned document), and only when the term
        really occurs in the document; value-like terms are never named. So an
        explanation cannot reproduce an ID number, an address or a name that
        the training corpus did not itself contain in many documents.
        """
        window = normalise(text[:EXPLAIN_WINDOW])
        words = set(_CLEAN_WORD.findall(window))
        positive = np.flatnonzero(contrib > 0)
        if len(positive) > 256:  # only the strongest few hundred can make the top list
            positive = positive[np.argpartition(-contrib[positive], 256)[:256]]
        order = positive[np.argsort(-contrib[positive])]
        out: list[str] = []
        for i in order:
            if len(out) >= top:
                break
            j = np.searchsorted(self.explain_buckets, buckets[i])
            if j >= len(self.explain_buckets) or self.explain_buckets[j] != buckets[i]:
                continue
            term = self.explain_terms[j]
            if term not in out and is_explainable(term) and (term in words if term.isascii() else term in window):
                out.append(term)
        return out


#: explanations look for their terms in the first characters of the document only
EXPLAIN_WINDOW = 16384
#: a Latin word standing on its own: not part of an e-mail address, URL, path, or a token
#: with digits (folded to 0), so no piece of such a value can be named in an explanation
_CLEAN_WORD = re.compile(r"(?<![a-z0-9@._%+\-:/])[a-z]+(?![a-z0-9@_%+\-:/]|\.[a-z0-9])")


def explain_vocabulary(
    pipeline: Pipeline, texts: Sequence[str], *, exclude: Sequence[str] = (), min_df: int = 5, size: int = 4000
) -> tuple[np.ndarray, list[str]]:
    """Buckets with a positive weight and the corpus term behind each.

    A term qualifies when it occurs in at least ``min_df`` training documents
    (and 1% of them), so a one-off value such as a person's ID number or an
    address can never be named; ties in a bucket go to the most frequent term.
    Terms found inside any of ``exclude`` (e.g. the names the corpus generator
    fills in) are not named either.
    """
    excluded = "\n".join(normalise(e) for e in exclude)
    hasher: CharWordHasher = pipeline.named_steps["features"]
    coef = pipeline.named_steps["clf"].coef_[0]
    df: dict[tuple[int, str], int] = {}
    for text in texts:
        buckets, starts, lengths, cp = hasher.spans(text)
        positive = coef[buckets] > 0
        seen: set[tuple[int, str]] = set()
        for b, s, n in zip(buckets[positive], starts[positive], lengths[positive]):
            if n < 2 or (s > 0 and 97 <= cp[s - 1] <= 122) or (s + n < len(cp) and 97 <= cp[s + n] <= 122):
                continue  # Latin n-grams inside a word are not named, whole words are
            term = cp[s: s + n].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")
            seen.add((int(b), term))
        for key in seen:
            df[key] = df.get(key, 0) + 1
    floor = max(min_df, len(texts) // 100)
    best: dict[int, tuple[int, str]] = {}
    for (b, term), n in df.items():
        if n >= floor and is_explainable(term) and n > best.get(b, (0, ""))[0] and term not in excluded:
            best[b] = (n, term)
    ranked = sorted(best, key=lambda b: -coef[b])[:size]
    ranked.sort()
    return np.array(ranked, dtype=np.int64), [best[b][1] for b in ranked]


#: the fewest documents of each class ``train`` accepts: calibration holds out up to
#: :data:`CALIBRATION_FOLDS` stratified folds, each must test both classes and leave
#: enough of each to fit on (fewer gives Platt scaling a handful of points to fit)
MIN_PER_CLASS = 6
CALIBRATION_FOLDS = 3


def _class_counts(y: np.ndarray) -> tuple[int, int]:
    return int(len(y) - y.sum()), int(y.sum())


def too_few(y: np.ndarray, needed: int = MIN_PER_CLASS) -> str | None:
    """Why ``y`` is too small to train and calibrate on, or None."""
    public, sensitive = _class_counts(y)
    if min(public, sensitive) >= needed:
        return None
    return (f"training and calibration need at least {needed} non-empty documents of each class "
            f"(sensitive and public), found {sensitive} sensitive and {public} public")


def _stratified_group_folds(y: np.ndarray, g: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k folds of whole groups where every fold tests groups of *both* classes.

    Groups of each class (a group's class is its majority label) are dealt out
    separately, largest first, each to the fold holding the fewest documents of
    that class so far. Plain GroupKFold ignores labels: with few groups a fold
    can hold out only sensitive groups, its model is trained mostly on public
    ones, and the out-of-fold decisions of different folds are then ordered
    backwards (a negative calibration slope).
    """
    names, inverse = np.unique(g, return_inverse=True)
    size = np.bincount(inverse)
    positive = np.bincount(inverse, weights=y)
    fold_of = np.zeros(len(names), np.int64)
    for cls in (0, 1):
        members = np.flatnonzero((positive * 2 >= size) if cls else (positive * 2 < size))
        load = np.zeros(k)
        for i in members[np.argsort(-size[members], kind="stable")]:
            f = int(np.argmin(load))
            fold_of[i] = f
            load[f] += size[i]
    doc_fold = fold_of[inverse]
    return [(np.flatnonzero(doc_fold != f), np.flatnonzero(doc_fold == f)) for f in range(k)]


def splits(labels: np.ndarray, groups: Sequence[str] | None, folds: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
    """Cross-validation folds, each testing (and training on) both classes.

    Whole groups are held out when each class has at least two groups (at
    most as many folds as the smaller class has groups); otherwise documents
    are held out in stratified folds. Either way every fold holds both
    classes on both sides, so out-of-fold scores of different folds are
    comparable and a calibration fitted on them is not turned around.
    """
    y = np.asarray(labels, dtype=np.int64)
    if groups is not None and len(set(groups)) < len(groups):  # one document per group is no grouping
        g = np.asarray(groups)
        per_class = [len(set(g[y == k].tolist())) for k in (0, 1)]
        if min(per_class) >= 2:
            return _stratified_group_folds(y, g, min(folds, *per_class)), True
    k = max(2, min(folds, *_class_counts(y)))
    return list(StratifiedKFold(k, shuffle=True, random_state=0).split(y, y)), False


def _platt(texts: Sequence[str], y: np.ndarray, groups: Sequence[str] | None, c: float, folds: int) -> tuple[float, float, float]:
    """(a, b, out-of-fold ROC-AUC): p = sigmoid(a*d + b) fitted on out-of-fold decision values d."""
    arr = np.asarray(texts, dtype=object)
    decision = np.zeros(len(y))
    for tr, te in splits(y, groups, folds)[0]:
        pipe = build_pipeline(c).fit(list(arr[tr]), y[tr])
        decision[te] = pipe.decision_function(list(arr[te]))
    lr = LogisticRegression(C=1.0).fit(decision.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0]), float(roc_auc_score(y, decision))


def check_calibration(calibration: object) -> str | None:
    """Why a stored (a, b) cannot be used, or None: it must be finite with a > 0.

    A slope a <= 0 turns the classifier around: sensitive documents would
    score low and public ones high.
    """
    if not (isinstance(calibration, (tuple, list)) and len(calibration) == 2
            and all(isinstance(v, float) and np.isfinite(v) for v in calibration)):
        return "missing or not two finite numbers"
    if calibration[0] <= 0:
        return f"slope a={calibration[0]:.3g} is not positive (the model would score backwards)"
    return None


def train(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    groups: Sequence[str] | None = None,
    c: float = 8.0,
    source: str = "",
    exclude_terms: Sequence[str] = (),
    calibration_folds: int = CALIBRATION_FOLDS,
    explain: bool = True,
) -> Model:
    """Fit a model; labels are 1 for sensitive, 0 for public.

    ``groups`` (template, sub-folder) are held out together when the
    probability scaling is fitted, so probabilities describe unseen kinds of
    documents. ``explain=False`` skips the explanation vocabulary (CV folds).

    Raises :class:`ModelError` rather than return a model that cannot be
    trusted: too few documents of a class, or a calibration that is inverted
    (slope <= 0) or ranks held-out or training documents no better than chance.
    """
    y = np.asarray(labels, dtype=np.int64)
    if problem := too_few(y):
        raise ModelError(problem)
    a, b, held_out_auc = _platt(texts, y, groups, c, calibration_folds)
    if a <= 0 or held_out_auc <= 0.5:
        raise ModelError(
            f"refusing to build a model that would score backwards: on held-out "
            f"{'groups' if splits(y, groups, calibration_folds)[1] else 'documents'} the classifier ranks "
            f"sensitive above public documents no better than chance (out-of-fold ROC-AUC {held_out_auc:.3f}, "
            f"calibration slope {a:.3g}). Add more, and more varied, documents of each class "
            f"(at least {MIN_PER_CLASS} each; sub-folders of similar documents with at least 2 per class)"
        )
    pipeline = build_pipeline(c)
    pipeline.fit(list(texts), y)
    train_auc = float(roc_auc_score(y, pipeline.decision_function(list(texts))))
    if train_auc <= 0.5:
        raise ModelError(f"refusing to build a model that does not separate its own training documents "
                         f"(training ROC-AUC {train_auc:.3f})")
    buckets, terms = explain_vocabulary(pipeline, texts, exclude=exclude_terms) if explain else (np.zeros(0, np.int64), [])
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sklearn_version": sklearn.__version__,
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "corpus_sha256": corpus_hash(texts, y.tolist()),
        "corpus_source": source,
        "documents": int(len(y)),
        "sensitive_documents": int(y.sum()),
        "calibration": (a, b),
    }
    return Model(pipeline, buckets, terms, metadata)


def save(model: Model, path: str | Path) -> None:
    """Write a model file; a model whose calibration would score backwards is never written."""
    if problem := check_calibration(model.metadata.get("calibration")):
        raise ModelError(f"{path}: not saved, probability calibration: {problem}")
    payload = dict(model.metadata)
    payload["pipeline"] = model.pipeline
    payload["explain_buckets"] = model.explain_buckets
    payload["explain_terms"] = "\n".join(model.explain_terms)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sio.dump(payload, path, compression=zipfile.ZIP_DEFLATED)


def load(path: str | Path) -> Model:
    """Load a model file after checking every type it would create is trusted."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as e:  # skops raises zipfile/json/key errors on garbage
        raise ModelError(f"{path}: not a readable skops model file ({type(e).__name__}: {e})") from e
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise ModelError(f"{path}: refused, the file would create untrusted types: {', '.join(refused)}")
    try:
        payload = sio.load(path, trusted=list(untrusted))
    except Exception as e:
        raise ModelError(f"{path}: corrupt model file ({type(e).__name__}: {e})") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path}: not a LeakWarden sensitive-document model")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{path}: model format version {payload.get('format_version')!r} is not supported "
            f"(this LeakWarden reads version {FORMAT_VERSION}); retrain with `leakwarden train`"
        )
    pipeline = payload.pop("pipeline", None)
    if not isinstance(pipeline, Pipeline) or [n for n, _ in pipeline.steps] != ["features", "tfidf", "clf"] \
            or not isinstance(pipeline.named_steps["features"], CharWordHasher) \
            or not isinstance(pipeline.named_steps["tfidf"], TfidfTransformer) \
            or not isinstance(pipeline.named_steps["clf"], LogisticRegression):
        raise ModelError(f"{path}: model pipeline has an unexpected structure")
    buckets = payload.pop("explain_buckets", np.zeros(0, np.int64))
    terms_blob = payload.pop("explain_terms", "")
    if not isinstance(terms_blob, str):
        raise ModelError(f"{path}: explain_terms: expected text, found {type(terms_blob).__name__}")
    terms = terms_blob.split("\n") if terms_blob else []
    problem = _inconsistency(pipeline, buckets, terms)
    if problem is None and (bad := check_calibration(payload.get("calibration", (1.0, 0.0)))):
        problem = f"calibration: {bad}"
    if problem:
        raise ModelError(f"{path}: refused, inconsistent model: {problem}")
    return Model(pipeline, np.asarray(buckets, dtype=np.int64), terms, payload)


#: ranges the scorer is written for; values outside them come from a damaged or hand-edited
#: file, and some (bits=40) would make the scorer allocate terabytes
_HASHER_RANGES = {"ngram_max": (1, 5), "bits": (10, 24), "max_chars": (1, 1 << 24), "min_word": (1, 24)}


def _array(value: object, field: str, kind: str, shape: tuple[int, ...]) -> str | None:
    if not isinstance(value, np.ndarray):
        return f"{field}: expected a NumPy array, found {type(value).__name__}"
    if value.dtype.kind != kind or value.shape != shape:
        return f"{field}: expected {'float' if kind == 'f' else 'integer'} array of shape {shape}, found {value.dtype} {value.shape}"
    if kind == "f" and not np.isfinite(value).all():
        return f"{field}: holds NaN or infinite values"
    return None


def _inconsistency(pipeline: Pipeline, buckets: object, terms: list[str]) -> str | None:
    """The first field whose type, range or shape does not fit the others, or None.

    skops rebuilds whatever parameters the file holds, so a file whose
    ``schema.json`` was edited (or damaged) loads fine and fails only when a
    document is scored; the scorer needs 2**bits == len(idf_) == coef_.shape[1].
    """
    hasher: CharWordHasher = pipeline.named_steps["features"]
    for name, (lo, hi) in _HASHER_RANGES.items():
        v = getattr(hasher, name, None)
        if type(v) is not int or not lo <= v <= hi:
            return f"features.{name}: {v!r} is not an integer in {lo}..{hi}"
    n = hasher.n_features
    tfidf: TfidfTransformer = pipeline.named_steps["tfidf"]
    # Model.score reproduces exactly this weighting; other settings would score differently
    for name, want in (("sublinear_tf", True), ("use_idf", True), ("norm", "l2")):
        if getattr(tfidf, name, None) != want:
            return f"tfidf.{name}: {getattr(tfidf, name, None)!r}, expected {want!r}"
    idf = getattr(tfidf, "idf_", None)
    if problem := _array(idf, "tfidf.idf_", "f", (n,)):
        return f"{problem} (features.bits={hasher.bits} means {n} features)"
    clf: LogisticRegression = pipeline.named_steps["clf"]
    for field, value, shape in (("clf.coef_", getattr(clf, "coef_", None), (1, n)),
                                ("clf.intercept_", getattr(clf, "intercept_", None), (1,))):
        if problem := _array(value, field, "f", shape):
            return f"{problem} (features.bits={hasher.bits} means {n} features)" if field == "clf.coef_" else problem
    classes = getattr(clf, "classes_", None)
    if not isinstance(classes, np.ndarray) or classes.tolist() != [0, 1]:
        return f"clf.classes_: {classes!r}, expected [0, 1] (public, sensitive)"
    if not isinstance(buckets, np.ndarray) or buckets.ndim != 1 or (len(buckets) and buckets.dtype.kind not in "iu"):
        return "explain_buckets: expected a one-dimensional integer array"
    if len(buckets) and (buckets.min() < 0 or buckets.max() >= n or (np.diff(buckets) <= 0).any()):
        return f"explain_buckets: must be increasing feature numbers below {n}"
    if len(terms) != len(buckets):
        return f"explain_terms: {len(terms)} terms for {len(buckets)} explain_buckets"
    return None
