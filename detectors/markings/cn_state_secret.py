"""PRC state-secret classification markings: 绝密, 机密, 秘密 (Law on Guarding State Secrets)."""

from __future__ import annotations

import re
from typing import ClassVar

from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.markings.layout import (
    CN_COMPANIONS,
    CN_STAR_PERIOD,
    Line,
    MarkingDetector,
    Verdict,
    at_edge,
    bare,
    cn_labelled,
    cn_period_after,
    cn_rest,
    edge_form,
    edge_prefilter,
    neighbours,
    normalise_cn,
)

_LEVELS = ("绝密", "絕密", "机密", "機密", "秘密")
_BARE_LEVEL = re.compile(f"(?:{'|'.join(_LEVELS)})[。.，,、；;]?")


def _in_list(text: str, line: Line) -> bool:
    """绝密 / 机密 / 秘密 one per line is a list of the levels (a training text), not a marking."""
    return any(_BARE_LEVEL.fullmatch(n) for n in neighbours(text, line))


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
    prefilter = edge_prefilter(_LEVELS)
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        f"(?P<level>{'|'.join(_LEVELS)}){CN_STAR_PERIOD}?"
    )

    def judge(self, m: re.Match[str], segment: Segment) -> Verdict | None:
        line = Line.around(segment.text, m.start(), m.end())
        if line.quoted or bare(line.before, CN_COMPANIONS):
            return None
        level = normalise_cn(m.group("level"))
        period = m.group("period")
        rest = cn_rest(line)
        if m.group("star"):
            if line.runs_on and rest:
                return None  # a sentence about the marking: 机密★5年表示……
            form, confidence = "legal", 0.95
        elif rest or line.runs_on:  # 机密编号 is a column heading, not 机密 + 编号
            return None
        elif cn_labelled(line):
            form, confidence = "label", 0.9
            period = cn_period_after(line)
        elif at_edge(segment, line) and not _in_list(segment.text, line):
            form, confidence = edge_form(segment), 0.85
            period = cn_period_after(line)
        else:
            return None
        return Verdict(
            start=m.start(),
            end=m.end(),
            confidence=confidence,
            severity=Severity.CRITICAL if level == "绝密" else Severity.HIGH,
            attributes={"level": level, "period": normalise_cn(period) if period else None, "form": form},
        )
