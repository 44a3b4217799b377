"""Fixtures for the ML tests: a tiny corpus on disk and a tiny model trained on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.ml import corpus, model


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four documents per template, written in the documented DIR/sensitive, DIR/public layout."""
    root = tmp_path_factory.mktemp("corpus")
    corpus.write(root, corpus.generate(per_template=4, seed=1))
    return root


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    docs = corpus.generate(per_template=3, seed=2)
    m = model.train([d.text for d in docs], [int(d.label == corpus.SENSITIVE) for d in docs], source="tests")
    path = tmp_path_factory.mktemp("model") / "tiny.skops"
    model.save(m, path)
    return path
