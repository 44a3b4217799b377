"""Model files: version metadata, and refusal of anything that is not a trusted LeakWarden model."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
import sklearn
from sklearn.tree import DecisionTreeClassifier

from detectors.ml import model
from detectors.ml.detector import SensitiveDocumentDetector
from leakwarden.errors import ModelError


class Gadget:
    """Stands for an attacker's class: skops would have to import and build it."""

    def __init__(self) -> None:
        self.command = "touch /tmp/pwned"


def test_model_carries_version_metadata(tiny_model_path: Path) -> None:
    m = model.load(tiny_model_path)
    assert m.metadata["format"] == model.FORMAT
    assert m.metadata["format_version"] == model.FORMAT_VERSION
    assert m.metadata["sklearn_version"] == sklearn.__version__
    assert m.metadata["trained_at"].startswith("20")
    assert len(m.metadata["corpus_sha256"]) == 64
    assert m.metadata["documents"] > m.metadata["sensitive_documents"] > 0


def test_same_corpus_same_hash_and_same_scores(tiny_model_path: Path, tmp_path: Path) -> None:
    m = model.load(tiny_model_path)
    model.save(m, tmp_path / "copy.skops")
    again = model.load(tmp_path / "copy.skops")
    assert again.metadata["corpus_sha256"] == m.metadata["corpus_sha256"]
    texts = ["预算调整方案仅限内部传达，请勿外传。" * 10, "The council approved the plan on Tuesday. " * 10]
    assert np.allclose(again.probabilities(texts), m.probabilities(texts))


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        model.load(tmp_path / "nope.skops")


def test_garbage_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.skops"
    bad.write_bytes(b"\x80\x04\x95 this is a pickle, not a skops archive")
    with pytest.raises(ModelError, match="not a readable skops model"):
        model.load(bad)
    with pytest.raises(ModelError):
        SensitiveDocumentDetector(bad)


def test_truncated_file_is_refused(tiny_model_path: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.skops"
    data = tiny_model_path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError):
        model.load(cut)


def test_file_with_untrusted_types_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    evil = tmp_path / "evil.skops"
    sio.dump({"format": model.FORMAT, "format_version": model.FORMAT_VERSION, "pipeline": Gadget()}, evil)
    with pytest.raises(ModelError, match=r"untrusted types: .*Gadget"):
        model.load(evil)


def test_a_model_of_another_shape_is_refused(tmp_path: Path) -> None:
    # scikit-learn estimators are safe for skops to build, but not what the detector can run
    other = tmp_path / "tree.skops"
    sio.dump({"format": model.FORMAT, "format_version": 1, "pipeline": DecisionTreeClassifier()}, other)
    with pytest.raises(ModelError, match="unexpected structure"):
        model.load(other)


def test_a_skops_file_of_something_else_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.skops"
    sio.dump({"format": "someone.else", "weights": np.zeros(3)}, other)
    with pytest.raises(ModelError, match="not a LeakWarden sensitive-document model"):
        model.load(other)


def test_a_future_format_version_is_refused(tiny_model_path: Path, tmp_path: Path) -> None:
    m = model.load(tiny_model_path)
    m.metadata["format_version"] = model.FORMAT_VERSION + 1
    future = tmp_path / "future.skops"
    model.save(m, future)
    with pytest.raises(ModelError, match="format version 2 is not supported"):
        model.load(future)


def test_tampered_archive_member_is_refused(tiny_model_path: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.skops"
    with zipfile.ZipFile(tiny_model_path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "schema.json":
                data = data.replace(b"detectors.ml.features", b"os.system.features")
            dst.writestr(item, data)
    with pytest.raises(ModelError, match="untrusted"):
        model.load(tampered)


def test_fast_single_document_path_agrees_with_the_pipeline(tiny_model_path: Path) -> None:
    m = model.load(tiny_model_path)
    texts = ["预算调整方案仅限内部传达，请勿外传。" * 10, "The council approved the plan on Tuesday. " * 10, "x"]
    assert np.allclose([m.score(t)[0] for t in texts], m.probabilities(texts))
