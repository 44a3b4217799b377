"""Character n-gram and word features, hashed in NumPy.

scikit-learn's ``HashingVectorizer(analyzer="char_wb")`` builds every n-gram as
a Python string: about 1-3 MB/s of text. This transformer computes the same
kind of features (character 1..3-grams of the lower-cased text with digits
folded to ``0`` and whitespace collapsed, plus whole Latin words) as polynomial
hashes over a code-point array, all in vectorised NumPy, which is an order of
magnitude faster. The hash is position-independent and has no per-process
salt, so a model trained here scores the same text the same everywhere.

Chinese needs no word segmenter: character bigrams and trigrams carry most
of its words. English gets whole words as well, which also makes explanations
readable ("salary" rather than "sal", "ala", "lar").
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

_P = np.uint64(0x100000001B3)  # odd, so it has an inverse modulo 2**64
_P_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_MIX = np.uint64(0x9E3779B97F4A7C15)
_WORD_DOMAIN = np.uint64(0xA0761D6478BD642F)
_NGRAM_DOMAIN = np.uint64(0xE7037ED1A0B428DB)


_powers_lock = threading.Lock()
_powers: tuple[np.ndarray, np.ndarray] = (np.ones(1, np.uint64), np.ones(1, np.uint64))


def _power_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i modulo 2**64 for i < n (grown on demand, shared read-only)."""
    global _powers
    pw, inv = _powers
    if len(pw) >= n:
        return pw, inv
    with _powers_lock:
        size = max(n, 2 * len(_powers[0]), 4096)
        pw = np.full(size, _P, dtype=np.uint64)
        inv = np.full(size, _P_INV, dtype=np.uint64)
        pw[0] = inv[0] = 1
        with np.errstate(over="ignore"):
            pw = np.cumprod(pw, dtype=np.uint64)
            inv = np.cumprod(inv, dtype=np.uint64)
        _powers = (pw, inv)
    return pw, inv


def codepoints(text: str) -> np.ndarray:
    """The normalised code points: lower case, digits as ``0``, single spaces."""
    cp = np.frombuffer(text.lower().encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.uint32)
    if not len(cp):
        return cp
    digit = ((cp >= 48) & (cp <= 57)) | ((cp >= 0xFF10) & (cp <= 0xFF19))
    cp[digit] = 48
    ws = (cp <= 32) | (cp == 0xA0) | (cp == 0x3000)
    cp[ws] = 32
    keep = np.ones(len(cp), bool)
    keep[1:] = ~(ws[1:] & ws[:-1])
    return cp[keep]


def normalise(text: str) -> str:
    """The text the features are computed on (for explanations and tests)."""
    return codepoints(text).astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")


def _mix(h: np.ndarray, bits: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(31))) * _MIX
    return (h >> np.uint64(64 - bits)).astype(np.int64)


class CharWordHasher(TransformerMixin, BaseEstimator):
    """Texts -> sparse count matrix of hashed char n-grams and Latin words.

    ``max_chars`` bounds the cost per document: only the head is featurised
    (the detector classifies the first part of a document anyway).
    """

    def __init__(self, ngram_max: int = 3, bits: int = 18, max_chars: int = 65536, min_word: int = 3) -> None:
        self.ngram_max = ngram_max
        self.bits = bits
        self.max_chars = max_chars
        self.min_word = min_word

    @property
    def n_features(self) -> int:
        return 1 << self.bits

    def fit(self, X: Iterable[str], y: object = None) -> "CharWordHasher":
        return self

    def spans(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(bucket, start, length, code points) of every feature occurrence.

        Starts and lengths index the normalised code points, so a caller can
        recover the n-gram or word that produced a bucket (explanations).
        """
        cp = codepoints(text[: self.max_chars])
        hashes, starts, lengths = self._hashes(cp, with_spans=True)
        return _mix(hashes, self.bits), starts, lengths, cp

    def _hashes(self, cp: np.ndarray, with_spans: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unmixed hashes: sum(c[s+j] * P**j) + domain, position independent."""
        n = len(cp)
        empty = np.zeros(0, np.int64)
        if n == 0:
            return np.zeros(0, np.uint64), empty, empty
        c = cp.astype(np.uint64) + np.uint64(1)
        space = cp == 32
        parts, starts, lengths = [], [], []
        with np.errstate(over="ignore"):
            h = c
            pk = np.uint64(1)
            for k in range(1, self.ngram_max + 1):
                if n < k:
                    break
                if k > 1:
                    pk = pk * _P
                    h = h[:-1] + c[k - 1:] * pk
                hk = h + _NGRAM_DOMAIN * np.uint64(k)
                if k > 1:  # n-grams that begin or end with a space repeat shorter ones
                    keep = ~(space[: n - k + 1] | space[k - 1:])
                    hk = hk[keep]
                    if with_spans:
                        starts.append(np.flatnonzero(keep))
                elif with_spans:
                    starts.append(np.arange(n))
                parts.append(hk)
                if with_spans:
                    lengths.append(np.full(len(hk), k))
            letter = (cp >= 97) & (cp <= 122)
            if letter.any():
                edge = np.diff(letter.astype(np.int8), prepend=0, append=0)
                ws, we = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
                ok = (we - ws >= self.min_word) & (we - ws <= 24)
                ws, we = ws[ok], we[ok]
                if len(ws):
                    pw, inv = _power_tables(n + 1)
                    prefix = np.zeros(n + 1, np.uint64)
                    np.cumsum(c * pw[:n], dtype=np.uint64, out=prefix[1:])
                    parts.append((prefix[we] - prefix[ws]) * inv[ws] + _WORD_DOMAIN)
                    if with_spans:
                        starts.append(ws)
                        lengths.append(we - ws)
        hashes = np.concatenate(parts)
        if not with_spans:
            return hashes, empty, empty
        return hashes, np.concatenate(starts), np.concatenate(lengths)

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(sorted unique buckets, counts) of one text."""
        buckets = _mix(self._hashes(codepoints(text[: self.max_chars]))[0], self.bits)
        counts = np.bincount(buckets, minlength=self.n_features)
        idx = np.flatnonzero(counts)
        return idx, counts[idx]

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        indptr = [0]
        indices: list[np.ndarray] = []
        data: list[np.ndarray] = []
        for text in X:
            idx, counts = self.row(text)
            indices.append(idx)
            data.append(counts.astype(np.float64))
            indptr.append(indptr[-1] + len(idx))
        return sp.csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, np.int64),
                np.array(indptr),
            ),
            shape=(len(indptr) - 1, self.n_features),
        )
