#!/usr/bin/env python3
"""Marking detectors: throughput on prose full of marking words, edge-anchored vs plain prefilters.

Usage: .venv/bin/python bench/markings_bench.py [--mb 8]

内部, 秘密, 机密, "internal" and "confidential" are everyday words, so a prefilter
that fires on every occurrence sends each one to Python-level verification.
The shipped prefilters fire only where a word touches a line edge. Printed
side by side in one run, on two generated corpora: the team's mixed
benchmark text (bench/corpus.py: Chinese and English prose, logs, a few
sensitive values) and an adversarial one (paragraph lines of Chinese and
English prose dense in marking words, a real marking in every tenth
document):
  * the four marking detectors, shipped prefilters, Hyperscan and regex backends;
  * the same detectors with plain word prefilters (the comparator);
  * Hyperscan with no detector work at all (the floor: one pass, no hits);
  * on the mixed corpus, every built-in detector with and without the markings
    (what the markings add to a whole scan);
  * hostile input crowded with candidates ("秘密\n" over and over, a real marking at the
    head and foot of each 1 MB segment): the engine, the marking verification alone
    (one merged window per segment, as the engine hands it over), and the comparator
    without the rejection budget (layout.MAX_REJECTED unbounded; on a 0.5 MB sample).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import generate  # noqa: E402

import detectors.markings.layout as layout  # noqa: E402
from detectors.engine import Engine  # noqa: E402
from detectors.extract.segment import Segment  # noqa: E402
from detectors.markings.cn_state_secret import CnStateSecretDetector  # noqa: E402
from detectors.markings.cn_work_secret import CnWorkSecretDetector  # noqa: E402
from detectors.markings.corporate import CorporateMarkingDetector  # noqa: E402
from detectors.markings.us_classification import UsClassificationDetector  # noqa: E402
from detectors.registry import BUILTIN  # noqa: E402

ZH = [
    "公司内部控制制度要求各部门加强内部管理，完善内部审计流程。",
    "国家秘密的密级分为绝密、机密、秘密三级，机关应当依法确定密级。",
    "各单位要依法保护商业秘密，不得泄露工作秘密和内部资料。",
    "本周五下午三点在三楼会议室召开部门例会，请准时参加。",
    "平台依托技术手段实现智能识别、自动预警和精准监管。",
]
EN = [
    "All customer information is kept confidential in accordance with our privacy policy.",
    "Internal audit reviewed the restricted areas and proprietary tooling last quarter.",
    "The SECRET SANTA party and the confidential salary review are both on Friday.",
    "We reviewed the draft budget and agreed on the next steps.",
]
MARKINGS = ["机密★5年", "内部资料 注意保存", "TOP SECRET//NOFORN", "Company Confidential", "公司机密"]


def corpus(mb: float, seed: int = 7) -> list[str]:
    """Documents of ~64 KB: a marking at the head of every tenth one, prose paragraphs."""
    rnd = random.Random(seed)
    docs, total = [], 0
    while total < mb * 1e6:
        lines = [rnd.choice(MARKINGS)] if len(docs) % 10 == 0 else []
        while sum(len(x.encode()) for x in lines) < 64_000:
            pool = ZH if rnd.random() < 0.6 else EN
            lines.append("".join(rnd.choice(pool) for _ in range(rnd.randint(2, 6))))
        doc = "\n".join(lines) + "\n"
        docs.append(doc)
        total += len(doc.encode())
    return docs


def crowded(mb: float) -> list[str]:
    """1 MB segments of bare levels, one per line, a real marking at the head and the foot."""
    head, foot = "机密★5年\n关于项目的通知\n", "正文结束。\n秘密\n"
    lines = max(1, int((min(mb, 1.0) * 1e6 - len((head + foot).encode())) // len("秘密\n".encode())))
    seg = head + "秘密\n" * lines + foot
    return [seg] * max(1, round(mb))


def verify_only(docs: list[str]) -> tuple[float, int]:
    size = sum(len(d.encode()) for d in docs)
    det = CnStateSecretDetector()
    t = time.process_time()
    n = sum(len(list(det.verify(Segment(text=d, path="bench"), 0, len(d)))) for d in docs)
    return size / (time.process_time() - t) / 1e6, n


def plain(cls: type, words: str) -> object:
    """The comparator: the same detector, its prefilter the bare words."""
    return type(f"Plain{cls.__name__}", (cls,), {"prefilter": words})()


def run(engine: Engine | None, docs: list[str], floor: Engine | None = None) -> tuple[float, int]:
    size = sum(len(d.encode()) for d in docs)
    t = time.process_time()
    n = 0
    for d in docs:
        if engine is None:
            assert floor is not None
            floor.prefilter.candidates(d.encode())
        else:
            n += len(engine.scan(Segment(text=d, path="bench")))
    return size / (time.process_time() - t) / 1e6, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=8.0)
    args = ap.parse_args()
    mixed = generate(int(args.mb * 1e6))
    chunk = 1 << 20  # the extractor hands large texts over in segments of about this size
    corpora = {
        "mixed (bench/corpus.py)": [mixed[i:i + chunk] for i in range(0, len(mixed), chunk)],
        "dense in marking words": corpus(args.mb),
    }
    shipped = [CnStateSecretDetector(), CnWorkSecretDetector(), UsClassificationDetector(), CorporateMarkingDetector()]
    plain_words = [
        plain(CnStateSecretDetector, "绝密|機密|机密|秘密|絕密"),
        plain(CnWorkSecretDetector, "工作秘密|内部|內部|注意保存"),
        plain(UsClassificationDetector, "TOP SECRET|SECRET|CONFIDENTIAL|UNCLASSIFIED|\\((?:TS|S|C|U)(?:\\)|//)"),
        plain(CorporateMarkingDetector, "confidential|internal|proprietary|restricted|trade secret|公司机密|商业秘密|内部公开|严格保密|商密"),
    ]
    rows = [
        ("shipped edge-anchored prefilters, hyperscan", Engine(shipped, backend="hyperscan")),
        ("shipped edge-anchored prefilters, regex fallback", Engine(shipped, backend="regex")),
        ("comparator: plain word prefilters, hyperscan", Engine(plain_words, backend="hyperscan")),
        ("comparator: plain word prefilters, regex fallback", Engine(plain_words, backend="regex")),
    ]
    for title, docs in corpora.items():
        size = sum(len(d.encode()) for d in docs) / 1e6
        print(f"\ncorpus {title}: {len(docs)} segments, {size:.1f} MB (UTF-8)")
        print(f"{'configuration':58s} {'MB/s':>8s} {'findings':>9s}")
        for name, engine in rows:
            mbps, n = run(engine, docs)
            print(f"{name:58s} {mbps:8.1f} {n:9d}")
        mbps, _ = run(None, docs, floor=rows[0][1])
        print(f"{'floor: shipped hyperscan prefilter pass only':58s} {mbps:8.1f} {'-':>9s}")
    docs = corpora["mixed (bench/corpus.py)"]
    print("\ncorpus mixed, whole built-in registry")
    for name, keep in (("all built-in detectors, hyperscan", lambda k: True),
                       ("built-in detectors without markings, hyperscan", lambda k: not k.startswith("marking."))):
        mbps, n = run(Engine([c() for k, c in BUILTIN.items() if keep(k)], backend="hyperscan"), docs)
        print(f"{name:58s} {mbps:8.1f} {n:9d}")

    hostile = crowded(args.mb)
    size = sum(len(d.encode()) for d in hostile) / 1e6
    print(f"\ncorpus crowded with candidates (\"秘密\\n\" x {hostile[0].count(chr(10))}): "
          f"{len(hostile)} segments, {size:.1f} MB")
    print(f"{'configuration':58s} {'MB/s':>8s} {'findings':>9s}")
    for name, engine in rows[:2]:
        mbps, n = run(engine, hostile)
        print(f"{name:58s} {mbps:8.1f} {n:9d}")
    mbps, _ = run(None, hostile, floor=rows[0][1])
    print(f"{'floor: shipped hyperscan prefilter pass only':58s} {mbps:8.1f} {'-':>9s}")
    mbps, n = verify_only(hostile)
    print(f"{'cn_state_secret verification alone, rejection budget':58s} {mbps:8.1f} {n:9d}")
    sample = crowded(0.5)
    budget, layout.MAX_REJECTED = layout.MAX_REJECTED, 1 << 62
    try:
        mbps, n = verify_only(sample)
    finally:
        layout.MAX_REJECTED = budget
    print(f"{'comparator: the same, no budget (0.5 MB sample)':58s} {mbps:8.1f} {n:9d}")
    mbps, n = verify_only(sample)
    print(f"{'the same 0.5 MB sample, rejection budget':58s} {mbps:8.1f} {n:9d}")


if __name__ == "__main__":
    main()
