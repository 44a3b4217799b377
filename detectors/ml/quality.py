"""Quality figures of a model on texts it never saw, for docs/ml.md.

``python -m detectors.ml.quality [--model FILE] [--regulation FILE]`` prints:

- verdicts on the hand-written documents in ``detectors/ml/heldout/``
  (written separately from the corpus templates: news, guides, a public
  notice; unmarked memos, a pricing draft, a personnel note, a bid strategy);
- the false-positive rate on public texts: those news/guides, and the public
  regulation text (whole, and cut into 1,500-character pieces, each scored as
  a document, because a piece about secrecy rules is the hard case).

Held-out-template precision/recall/ROC-AUC come from
``leakwarden evaluate --bundled`` (cross-validation, whole templates held out).
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from detectors.ml import model as ml_model

DEFAULT_REGULATION = Path(__file__).resolve().parents[2].parent / "shared" / "context" / "regulation-and-articles.txt"
PIECE = 1500


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--regulation", type=Path, default=DEFAULT_REGULATION)
    ap.add_argument("--threshold", type=float, default=0.5)
    args = ap.parse_args(argv)
    m = ml_model.load(args.model or ml_model.default_model_path())
    t = args.threshold
    root = Path(str(resources.files("detectors.ml").joinpath("heldout")))
    wrong = {"public": 0, "sensitive": 0}
    counts = {"public": 0, "sensitive": 0}
    print(f"model: {args.model or ml_model.default_model_path()}  threshold {t}")
    for label in ("sensitive", "public"):
        for path in sorted((root / label).glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            p, buckets, contrib = m.score(text)
            flagged = p >= t
            counts[label] += 1
            wrong[label] += flagged != (label == "sensitive")
            why = ", ".join(m.explain(text, buckets, contrib)) if flagged else ""
            print(f"  {label:<9} {path.name:<26} p={p:.3f} {'FLAGGED' if flagged else 'clear':<8} {why}")
    print(f"hand-written public texts flagged: {wrong['public']}/{counts['public']}; "
          f"sensitive texts missed: {wrong['sensitive']}/{counts['sensitive']}")
    if args.regulation.is_file():
        text = args.regulation.read_text(encoding="utf-8")
        whole = m.score(text)[0]
        pieces = [text[i: i + PIECE] for i in range(0, len(text), PIECE) if len(text[i: i + PIECE]) >= 300]
        probs = m.probabilities(pieces)
        print(f"regulation text ({len(text)} characters): p={whole:.3f} {'FLAGGED' if whole >= t else 'clear'}; "
              f"{int((probs >= t).sum())}/{len(pieces)} pieces of {PIECE} characters flagged "
              f"(max p={probs.max():.3f})")
    else:
        print(f"regulation text not found at {args.regulation}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
