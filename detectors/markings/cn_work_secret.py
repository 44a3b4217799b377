"""PRC work-secret and internal markings: 工作秘密, 内部, 内部资料 (注意保存)."""

from __future__ import annotations

import re
from typing import ClassVar

from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.markings.layout import (
    CN_STAR_PERIOD,
    Line,
    MarkingDetector,
    Verdict,
    cn_form,
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
        form = cn_form(m, segment, Line.around(segment.text, m.start(), m.end()))
        if form is None:
            return None
        label = normalise_cn(m.group("label"))
        if label.startswith("内部资料") and "注意保存" in label:
            label = "内部资料 注意保存"
        period = m.group("period")
        return Verdict(
            start=m.start(),
            end=m.end(),
            confidence=0.9 if form in ("legal", "label") else 0.85,
            severity=self.severity,
            attributes={"label": label, "period": normalise_cn(period) if period else None, "form": form},
        )
