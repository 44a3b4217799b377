"""PRC state-secret classification markings: 绝密, 机密, 秘密 (Law on Guarding State Secrets)."""

from __future__ import annotations

import re
from typing import ClassVar

from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.markings.layout import (
    CN_STAR_PERIOD,
    PF_EOL,
    PF_STAR,
    Line,
    MarkingDetector,
    Verdict,
    cn_form,
    cn_period_after,
    edge_prefilter,
    normalise_cn,
)

_LEVELS = ("绝密", "絕密", "机密", "機密", "秘密")
#: letter-spaced on a stamp or a title line: 机 密, 绝　密★长期
_SPACED = tuple(f"{a}{gap}密" for a in "绝絕机機秘" for gap in (" ", "  ", "\u3000"))
#: a neighbouring line like this makes a bare level part of a list of the levels (training text)
_BARE_LEVEL = re.compile(f"(?:{'|'.join(_LEVELS)})[。.，,、；;]?")
_CONFIDENCE = {"legal": 0.95, "label": 0.9}


class CnStateSecretDetector(MarkingDetector):
    """绝密/机密/秘密 where it stands as a marking.

    Counted: the legal forms 密级★保密期限 / ★解密时间 / ★解密条件 and a bare
    机密★ at the start of a line (or after 密级：) anywhere in the document;
    "密级：机密" on a line of its own anywhere; the bare word on a line of its
    own in the head or foot of a document or page, or in a header/footer part.
    Not counted: the words in prose, in quotes (例如“秘密★1年”), or inside
    other terms (公司机密 and 商业秘密 are corporate, 工作秘密 is a work secret).
    """

    id = "marking.cn_state_secret"
    severity = Severity.HIGH
    # the spaced forms only stand alone on their line or before a ★: two clauses
    # rather than fifteen more tokens in every clause of the edge prefilter
    prefilter = "|".join([
        edge_prefilter(_LEVELS),
        f"(?:{'|'.join(_SPACED)})[ \\t)\\]]*{PF_EOL}",
        f"(?:{'|'.join(_SPACED)})(?:{PF_STAR})",
        f"(?:{'|'.join(_SPACED)})[ \\t]+[\\x80-\\xff]",
    ])
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        f"(?P<level>{'|'.join(_LEVELS)}|[绝絕机機秘][ \u3000]{{1,2}}密){CN_STAR_PERIOD}?"
    )

    def judge(self, m: re.Match[str], segment: Segment) -> Verdict | None:
        line = Line.around(segment.text, m.start(), m.end())
        form = cn_form(m, segment, line, listed=_BARE_LEVEL)
        if form is None:
            return None
        level = normalise_cn("".join(m.group("level").split()))
        period = m.group("period") if form == "legal" else cn_period_after(line)
        return Verdict(
            start=m.start(),
            end=m.end(),
            confidence=_CONFIDENCE.get(form, 0.85),
            severity=Severity.CRITICAL if level == "绝密" else Severity.HIGH,
            attributes={"level": level, "period": normalise_cn(period) if period else None, "form": form},
        )
