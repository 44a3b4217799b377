"""Generate realistic mixed Chinese/English text with sensitive values, for benchmarks.

Deterministic (seeded) so figures are comparable between runs. Density: by
default 3 % of lines carry a sensitive value (about one per 3 KB), the rest is
ordinary prose and logs.
"""

from __future__ import annotations

import random
import string

ZH = [
    "近日，市场监督管理局组织开展了食品安全专项检查工作。",
    "本周五下午三点在三楼会议室召开部门例会，请准时参加。",
    "会议要求各单位认真落实安全生产责任制，加强日常巡查。",
    "平台依托技术手段实现智能识别、自动预警和精准监管。",
    "请各部门于本月底前报送年度工作总结，内部机构调整另行通知。",
    "国家秘密的密级分为绝密、机密、秘密三级，本文仅作培训说明。",
]
EN = [
    "We reviewed the draft budget and agreed on the next steps.",
    "Version 2.4.1 of the client fixes the crash reported in ticket 4471.",
    "The quarterly review meeting has been moved to Thursday afternoon.",
    "Please remember to submit travel reimbursement forms before the end of the month.",
]
LOG = "2026-11-0{d} 12:{m:02d}:{s:02d} INFO worker-{w} processed request id={rid} in {ms} ms status=200"


def _gb11643(rnd: random.Random) -> str:
    body = f"{rnd.choice(['110105', '310101', '440305', '650102'])}{rnd.randint(1950, 2005)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}{rnd.randint(0, 999):03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
    return body + check


def _luhn_card(rnd: random.Random, prefix: str, length: int) -> str:
    digits = prefix + "".join(rnd.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return digits + str((10 - total % 10) % 10)


def sensitive(rnd: random.Random) -> str:
    kind = rnd.randrange(6)
    if kind == 0:
        return f"身份证号：{_gb11643(rnd)}。"
    if kind == 1:
        return f"联系电话{rnd.choice(['138', '159', '186'])}{rnd.randint(10**7, 10**8 - 1)}，"
    if kind == 2:
        return f"card number {_luhn_card(rnd, rnd.choice(['4', '62', '51']), 16)} expires 12/28"
    if kind == 3:
        return f"contact: {''.join(rnd.choices(string.ascii_lowercase, k=7))}@corp-mail.cn"
    if kind == 4:
        return "aws_access_key_id = AKIA" + "".join(rnd.choices(string.ascii_uppercase + "234567", k=16))
    return f'db_password = "{"".join(rnd.choices(string.ascii_letters + string.digits, k=14))}"'


def generate(nbytes: int, seed: int = 1, density: float = 0.03) -> str:
    """``density``: share of lines carrying a sensitive value (0.03 ≈ one per 3 KB)."""
    rnd = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < nbytes:
        r = rnd.random()
        if r < density:
            line = sensitive(rnd)
        elif r < 0.35:
            line = "".join(rnd.choices(ZH, k=3))
        elif r < 0.65:
            line = " ".join(rnd.choices(EN, k=3))
        else:
            line = LOG.format(d=rnd.randint(1, 9), m=rnd.randrange(60), s=rnd.randrange(60), w=rnd.randrange(16),
                              rid=rnd.randrange(10**9), ms=rnd.randrange(900))
        out.append(line)
        size += len(line.encode("utf-8")) + 1
    return "\n".join(out) + "\n"
