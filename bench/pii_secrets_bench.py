#!/usr/bin/env python3
"""PII and secret detectors: throughput with the shipped selective prefilters vs loose ones.

Usage: .venv/bin/python bench/pii_secrets_bench.py [--mb 8]

The prefilters run on every byte an agent sees, so each must fire rarely on
ordinary text. Printed side by side in one run, on two generated corpora: the
team's mixed benchmark text (bench/corpus.py) and an adversarial one dense in
digit runs, decimals, hex hashes, "password" in prose and code, and e-mail-like
asset names (few real values):
  * the 13 PII/secret detectors, shipped prefilters, Hyperscan and regex backends;
  * the same detectors with loose prefilters ("[0-9]{6,}", "password", "@" ...),
    the obvious first version (the comparator);
  * the naive scanner: every verification regex over the whole text, one pass each.
CPU seconds (process_time) on one core; the prefilter hit count shows why.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import generate  # noqa: E402

from detectors.base import PatternDetector  # noqa: E402
from detectors.engine import Engine  # noqa: E402
from detectors.extract.segment import Segment  # noqa: E402
from detectors.pii.cn_mobile import CnMobileDetector  # noqa: E402
from detectors.pii.cn_resident_id import CnResidentIdDetector  # noqa: E402
from detectors.pii.email import EmailDetector  # noqa: E402
from detectors.pii.iban import IbanDetector  # noqa: E402
from detectors.pii.payment_card import PaymentCardDetector  # noqa: E402
from detectors.pii.us_ssn import UsSsnDetector  # noqa: E402
from detectors.secrets.aws_access_key import AwsAccessKeyDetector  # noqa: E402
from detectors.secrets.aws_secret_key import AwsSecretKeyDetector  # noqa: E402
from detectors.secrets.github_token import GithubTokenDetector  # noqa: E402
from detectors.secrets.jwt import JwtDetector  # noqa: E402
from detectors.secrets.password import PasswordDetector  # noqa: E402
from detectors.secrets.private_key import PrivateKeyDetector  # noqa: E402
from detectors.secrets.slack_token import SlackTokenDetector  # noqa: E402

CLASSES: tuple[type[PatternDetector], ...] = (
    CnResidentIdDetector, CnMobileDetector, PaymentCardDetector, EmailDetector, UsSsnDetector, IbanDetector,
    AwsAccessKeyDetector, AwsSecretKeyDetector, GithubTokenDetector, SlackTokenDetector, JwtDetector,
    PrivateKeyDetector, PasswordDetector,
)
#: what a first version would use: anything that could start a value
LOOSE = {
    "pii.cn_resident_id": r"[0-9]{6,}", "pii.cn_mobile": r"[0-9]{6,}", "pii.payment_card": r"[0-9]{6,}",
    "pii.email": r"@", "pii.us_ssn": r"[0-9]{3}", "pii.iban": r"[A-Z]{2}[0-9]{2}",
    "secret.aws_access_key": r"A[A-Z]{3}", "secret.aws_secret_key": r"secret", "secret.github_token": r"gh",
    "secret.slack_token": r"xox|slack", "secret.jwt": r"eyJ", "secret.private_key": r"-----BEGIN",
    "secret.password": r"pass|pwd|密码",
}


def loose(cls: type[PatternDetector]) -> PatternDetector:
    sub = type("Loose" + cls.__name__, (cls,), {"prefilter": LOOSE[cls.id], "prefilter_caseless": True})
    return sub()


def adversarial(nbytes: int, seed: int = 3) -> str:
    rnd = random.Random(seed)
    lines = [
        lambda: f"ts={rnd.randrange(10**12, 10**13)} ratio=0.{rnd.randrange(10**15, 10**16)} id={rnd.randrange(10**17, 10**18)}",
        lambda: "sha256=" + "".join(rnd.choices("0123456789abcdef", k=64)),
        lambda: "Please enter your password below; passwords must be changed every 90 days.",
        lambda: "def login(user: str, password: str) -> bool:  return check(password=password)",
        lambda: f"icon@{rnd.randint(2, 3)}x.png order {rnd.randrange(10**8, 10**9)} qty {rnd.randrange(1000)}",
        lambda: "订单号 " + "".join(rnd.choices(string.digits, k=18)) + "，金额 " + str(rnd.randrange(10**6)),
        lambda: "ABCD12 EFGH IJKL MNOP, AKIA is a prefix; secret words; ghost; eyJ is base64 for {\"",
    ]
    out: list[str] = []
    size = 0
    while size < nbytes:
        line = rnd.choice(lines)()
        out.append(line)
        size += len(line.encode()) + 1
    return "\n".join(out) + "\n"


def run(engine: Engine, text: str) -> tuple[float, int, int]:
    data = text.encode()
    hits = len(engine.prefilter.candidates(data).hits)
    seg = Segment(text=text, path="bench")
    t = time.process_time()
    n = len(engine.scan(seg))
    return len(data) / (time.process_time() - t) / 1e6, n, hits


def naive(text: str) -> tuple[float, int]:
    dets = [cls() for cls in CLASSES]
    t = time.process_time()
    n = sum(1 for d in dets for _ in d.pattern.finditer(text))
    return len(text.encode()) / (time.process_time() - t) / 1e6, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=8)
    args = ap.parse_args()
    nbytes = int(args.mb * 1e6)
    corpora = {"mixed": generate(nbytes), "adversarial": adversarial(nbytes)}
    print(f"{'corpus':12} {'variant':34} {'MB/s':>8} {'findings':>9} {'prefilter hits':>15}")
    for name, text in corpora.items():
        for label, dets, backend in (
            ("shipped prefilters, hyperscan", [c() for c in CLASSES], "hyperscan"),
            ("shipped prefilters, regex", [c() for c in CLASSES], "regex"),
            ("loose prefilters, hyperscan", [loose(c) for c in CLASSES], "hyperscan"),
        ):
            mbs, n, hits = run(Engine(dets, backend=backend), text)
            print(f"{name:12} {label:34} {mbs:8.1f} {n:9d} {hits:15d}")
        mbs, n = naive(text)
        print(f"{name:12} {'naive: every pattern, one pass each':34} {mbs:8.1f} {n:9d} {'-':>15}")


if __name__ == "__main__":
    main()
