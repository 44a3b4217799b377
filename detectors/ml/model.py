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
from sklearn.model_selection import GroupKFold, StratifiedKFold
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


def splits(labels: np.ndarray, groups: Sequence[str] | None, folds: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
    """Cross-validation folds holding out whole groups when each class has at least two groups."""
    if groups is not None and len(set(groups)) < len(groups):  # one document per group is no grouping
        g = np.asarray(groups)
        if min(len(set(g[labels == k])) for k in (0, 1)) >= 2:
            k = min(folds, len(set(g)))
            return list(GroupKFold(k).split(labels, labels, g)), True
    k = max(2, min(folds, int(min(labels.sum(), len(labels) - labels.sum()))))
    return list(StratifiedKFold(k, shuffle=True, random_state=0).split(labels, labels)), False


def _platt(texts: Sequence[str], y: np.ndarray, groups: Sequence[str] | None, c: float, folds: int) -> tuple[float, float]:
    """Fit p = sigmoid(a*d + b) on out-of-fold decision values d."""
    arr = np.asarray(texts, dtype=object)
    decision = np.zeros(len(y))
    covered = np.zeros(len(y), bool)
    for tr, te in splits(y, groups, folds)[0]:
        if len(set(y[tr].tolist())) < 2:
            continue
        pipe = build_pipeline(c).fit(list(arr[tr]), y[tr])
        decision[te] = pipe.decision_function(list(arr[te]))
        covered[te] = True
    if len(set(y[covered].tolist())) < 2:
        return 1.0, 0.0
    lr = LogisticRegression(C=1.0).fit(decision[covered].reshape(-1, 1), y[covered])
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def train(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    groups: Sequence[str] | None = None,
    c: float = 8.0,
    source: str = "",
    exclude_terms: Sequence[str] = (),
    calibration_folds: int = 3,
    explain: bool = True,
) -> Model:
    """Fit a model; labels are 1 for sensitive, 0 for public.

    ``groups`` (template, sub-folder) are held out together when the
    probability scaling is fitted, so probabilities describe unseen kinds of
    documents. ``explain=False`` skips the explanation vocabulary (CV folds).
    """
    y = np.asarray(labels, dtype=np.int64)
    if len(set(y.tolist())) != 2 or min(y.sum(), len(y) - y.sum()) < 2:
        raise ModelError("training needs at least two documents of each class (sensitive and public)")
    pipeline = build_pipeline(c)
    pipeline.fit(list(texts), y)
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
        "calibration": _platt(texts, y, groups, c, calibration_folds),
    }
    return Model(pipeline, buckets, terms, metadata)


def save(model: Model, path: str | Path) -> None:
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
            or not isinstance(pipeline.named_steps["clf"], LogisticRegression):
        raise ModelError(f"{path}: model pipeline has an unexpected structure")
    buckets = np.asarray(payload.pop("explain_buckets", np.zeros(0, np.int64)), dtype=np.int64)
    terms_blob = payload.pop("explain_terms", "")
    terms = terms_blob.split("\n") if terms_blob else []
    if len(terms) != len(buckets):
        raise ModelError(f"{path}: explanation vocabulary is inconsistent")
    calibration = payload.get("calibration", (1.0, 0.0))
    if not (isinstance(calibration, (tuple, list)) and len(calibration) == 2
            and all(isinstance(v, float) and np.isfinite(v) for v in calibration)):
        raise ModelError(f"{path}: probability calibration is missing or invalid")
    return Model(pipeline, buckets, terms, payload)
