"""The pre-check before the classifier: machine text is skipped, documents never are."""

from __future__ import annotations

import base64
import random
from importlib import resources
from pathlib import Path

import pytest

from detectors.extract.segment import Segment
from detectors.ml import corpus
from detectors.ml.detector import SensitiveDocumentDetector
from detectors.ml.gate import skip_reason

REGULATION = Path("/work/shared/context/regulation-and-articles.txt")
ENGINE_SOURCE = Path(__file__).resolve().parents[2] / "detectors" / "engine.py"


def app_log(n: int = 40) -> str:
    r = random.Random(1)
    return "".join(f"2026-03-0{1 + i % 9} 10:{i % 60:02d}:{r.randrange(60):02d},{r.randrange(1000):03d} "
                   f"{r.choice(['INFO', 'WARN', 'ERROR'])} [worker-{i % 4}] order service: processed batch {i}, "
                   f"{r.randrange(900)} rows in {r.randrange(90)} ms\n" for i in range(n))


MACHINE = {
    "source code": lambda: ENGINE_SOURCE.read_text(encoding="utf-8"),
    "log records": app_log,
    "encoded data (base64/hex)": lambda: base64.encodebytes(random.Random(2).randbytes(6000)).decode(),
    "binary data": lambda: random.Random(3).randbytes(4000).decode("utf-8", "replace"),
    "mostly digits and symbols": lambda: "\n".join(
        ",".join(f"{random.Random(i * 7 + j).random() * 1e4:.2f}" for j in range(8)) for i in range(60)),
    "too little text without whitespace": lambda: "A1" + " " * 300 + "B2\n" * 10,
}


@pytest.mark.parametrize("reason", sorted(MACHINE))
def test_machine_text_is_skipped_with_a_reason(reason: str) -> None:
    text = MACHINE[reason]()
    assert len(text) >= 100
    assert skip_reason(text) == reason


def test_documents_are_never_skipped() -> None:
    docs = corpus.generate(per_template=3, seed=5)
    kept = [d.text for d in docs if len(d.text) >= 100]
    assert kept and [t[:60] for t in kept if skip_reason(t)] == []
    root = Path(str(resources.files("detectors.ml").joinpath("heldout")))
    held_out = sorted(root.rglob("*.txt"))
    assert len(held_out) >= 12
    assert [p.name for p in held_out if skip_reason(p.read_text(encoding="utf-8"))] == []


@pytest.mark.parametrize("text", [
    # a chat export: timestamps on every line, but people talking (no level, no process tag)
    "".join(f"2026-03-01 10:{i:02d}:1{i % 10} 王总：裁员名单先别外传，预算的事等董事会定了再说，第{i}条。\n" for i in range(20)),
    # a roster: mostly numbers, but names and places too
    "".join(f"张伟{i},男,110105199003071239,139{i:08d},北京市朝阳区建国路{i}号,研发部\n" for i in range(30)),
    # contract clauses ending in ';'
    "".join(f"  ({chr(97 + i)}) the Supplier shall keep the Purchaser's pricing confidential for {i + 2} years;\n"
            for i in range(12)),
])
def test_hard_documents_are_kept(text: str) -> None:
    assert skip_reason(text) is None


@pytest.mark.skipif(not REGULATION.is_file(), reason="shared regulation text not present")
def test_the_regulation_text_is_still_classified() -> None:
    assert skip_reason(REGULATION.read_text(encoding="utf-8")) is None


def test_detector_does_not_run_the_model_on_machine_text() -> None:
    det = SensitiveDocumentDetector(threshold=0.0)  # threshold 0: anything classified yields a verdict
    log = Segment(app_log(), "app.log")
    assert list(det.scan(log)) == [] and not det._cache
    unchecked = SensitiveDocumentDetector(threshold=0.0, precheck=False)
    assert len(list(unchecked.scan(log))) == 1
