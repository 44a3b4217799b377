"""``leakwarden train`` and ``leakwarden evaluate``: the classifier on an organisation's own folders."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from leakwarden.errors import LeakWardenError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    layout = "DIR holds sub-folders sensitive/ and public/ with one document per file (UTF-8 text)."
    train = subparsers.add_parser(
        "train", help="train the sensitive-document classifier on labelled folders",
        description=f"Train ml.sensitive_document. {layout}",
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, metavar="DIR", help="labelled folder")
    source.add_argument("--bundled", action="store_true", help="train on the bundled generated corpus")
    train.add_argument("--out", type=Path, default=Path("sensitive_document.skops"), metavar="MODEL",
                       help="model file to write (skops; default: %(default)s)")
    train.add_argument("-C", dest="c", type=float, default=8.0, help="inverse regularisation strength (default: %(default)s)")
    train.set_defaults(func=run_train)

    ev = subparsers.add_parser(
        "evaluate", help="cross-validated precision, recall and ROC-AUC of the classifier",
        description=f"Cross-validate ml.sensitive_document on labelled folders. {layout} "
                    "Whole sub-folders (or <group>__ file-name prefixes) are held out together.",
    )
    source = ev.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, metavar="DIR", help="labelled folder")
    source.add_argument("--bundled", action="store_true", help="evaluate on the bundled generated corpus")
    ev.add_argument("--folds", type=int, default=5)
    ev.add_argument("--threshold", type=float, default=0.5)
    ev.add_argument("-C", dest="c", type=float, default=8.0)
    ev.add_argument("--show-errors", action="store_true", help="list misclassified files")
    ev.set_defaults(func=run_evaluate)


def _fail(command: str, e: Exception) -> int:
    print(f"leakwarden {command}: error: {e}", file=sys.stderr)
    return 2


def run_train(args: argparse.Namespace) -> int:
    from detectors.ml import model, training

    t0 = time.perf_counter()
    try:
        m = training.train_bundled(c=args.c) if args.bundled else training.train_folder(args.data, c=args.c)
        model.save(m, args.out)
    except (LeakWardenError, OSError) as e:
        return _fail("train", e)
    meta = m.metadata
    print(f"trained on {meta['documents']} documents ({meta['sensitive_documents']} sensitive) "
          f"in {time.perf_counter() - t0:.1f} s")
    print(f"corpus sha256: {meta['corpus_sha256']}")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from detectors.ml import training

    if args.folds < 2 or not 0.0 < args.threshold < 1.0:
        return _fail("evaluate", ValueError("--folds must be >= 2 and --threshold between 0 and 1"))
    try:
        if args.bundled:
            from detectors.ml import corpus

            docs = corpus.generate()
            data = training.Dataset([d.text for d in docs], [int(d.label == corpus.SENSITIVE) for d in docs],
                                    [d.group for d in docs], [f"{d.label}/{d.group}" for d in docs])
        else:
            data = training.load_folder(args.data)
        ev, _ = training.cross_validate(data, folds=args.folds, threshold=args.threshold, c=args.c)
    except (LeakWardenError, OSError) as e:
        return _fail("evaluate", e)
    print(ev.report())
    if args.show_errors:
        for p in ev.false_positives:
            print(f"false positive: {p}")
        for p in ev.false_negatives:
            print(f"false negative: {p}")
    return 0
