"""PRC work-secret and internal markings: 工作秘密, 内部, 内部资料 (注意保存)."""

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
    cn_rest,
    edge_form,
    edge_prefilter,
    normalise_cn,
)

#: 内部资料 注意保存, also 内部资料，注意保存 and 内部资料（注意保存）
_SAVE = "(?:[ \\t\u3000,，、·:：]*[（(]?注意保存[）)]?)"
#: longest first: a line carries one marking, reported once
_LABELS = (
    "工作秘密",
    f"(?:内部|內部)(?:资料|資料){_SAVE}?",
    "(?:内部|內部)文件",
    "(?:内部|內部)使用",
    "注意保存",
    "内部|內部",
)


class CnWorkSecretDetector(MarkingDetector):
    """工作秘密 / 内部 / 内部资料 (注意保存) / 内部文件 / 内部使用 as markings.

    内部 and 内部资料 are everyday words (内部机构, 内部控制), so only a line of
    its own counts: in the head or foot of a document or page, in a
    header/footer part, or after a "密级：" label; with a ★ (工作秘密★1年) it
    counts at the start of any line. Longer terms that contain these words
    (仅限内部使用, 内部公开) are corporate markings, not work secrets.
    """

    id = "marking.cn_work_secret"
    severity = Severity.MEDIUM
    prefilter = edge_prefilter(
        ("工作秘密", "内部资料", "內部資料", "内部文件", "內部文件", "内部使用", "內部使用", "内部", "內部", "注意保存")
    )
    pattern: ClassVar[re.Pattern[str]] = re.compile(f"(?P<label>{'|'.join(_LABELS)}){CN_STAR_PERIOD}?")

    def judge(self, m: re.Match[str], segment: Segment) -> Verdict | None:
        line = Line.around(segment.text, m.start(), m.end())
        if line.quoted or bare(line.before, CN_COMPANIONS):
            return None
        label = normalise_cn(m.group("label"))
        if label.endswith(("注意保存", "注意保存）", "注意保存)")) and label.startswith("内部资料"):
            label = "内部资料 注意保存"
        rest = cn_rest(line)
        if m.group("star"):
            if line.runs_on and rest:
                return None  # a sentence about the marking: 机密★5年表示……
            form, confidence = "legal", 0.9
        elif rest or line.runs_on:  # 内部编号 is a column heading, not 内部 + 编号
            return None
        elif cn_labelled(line):
            form, confidence = "label", 0.9
        elif at_edge(segment, line):
            form, confidence = edge_form(segment), 0.85
        else:
            return None
        period = m.group("period")
        return Verdict(
            start=m.start(),
            end=m.end(),
            confidence=confidence,
            severity=self.severity,
            attributes={"label": label, "period": normalise_cn(period) if period else None, "form": form},
        )
