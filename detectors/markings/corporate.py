"""Corporate confidentiality markings: Company Confidential, Internal Use Only, 公司机密, 商业秘密 …"""

from __future__ import annotations

import re
from typing import ClassVar

from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.markings.layout import (
    CN_COMPANIONS,
    CN_STAR_PERIOD,
    EN_COMPANIONS,
    Companions,
    Line,
    MarkingDetector,
    Verdict,
    at_edge,
    bare,
    cn_labelled,
    edge_form,
    edge_prefilter,
    en_labelled,
    normalise_cn,
)

_AND = r"\s*(?:and|&)\s*"
#: (regex, label reported); longest first so a line yields one label
_EN_LABELS: tuple[tuple[str, str], ...] = (
    (rf"proprietary{_AND}confidential", "Proprietary and Confidential"),
    (rf"confidential{_AND}proprietary", "Proprietary and Confidential"),
    (rf"private{_AND}confidential", "Private and Confidential"),
    (rf"privileged{_AND}confidential", "Privileged and Confidential"),
    (r"(?:company|business)\s+confidential", "Company Confidential"),
    (r"strictly\s+confidential", "Strictly Confidential"),
    (r"highly\s+confidential", "Highly Confidential"),
    (r"(?:for\s+)?internal\s+use\s+only", "Internal Use Only"),
    (r"(?:company\s+)?internal\s+only", "Internal Only"),
    (r"company\s+(?:internal|restricted)", "Company Internal"),
    (r"trade\s+secret", "Trade Secret"),
    (r"proprietary", "Proprietary"),
    (r"confidential", "Confidential"),
    (r"restricted", "Restricted"),
    (r"internal", "Internal"),
)
#: Chinese labels (traditional variants are reported in simplified form)
_CN_LABELS = (
    "公司内部资料", "公司内部文件", "公司內部資料", "仅限内部使用", "僅限內部使用", "仅供内部使用", "僅供內部使用",
    "限内部使用", "內部公開", "内部公开", "公司机密", "公司機密", "公司秘密", "公司绝密", "公司絕密", "企业机密", "企業機密",
    "商业秘密", "商業秘密", "商业机密", "商業機密", "核心商密", "普通商密", "商密", "严格保密", "嚴格保密",
)
_CANONICAL = tuple((re.compile(rx, re.IGNORECASE), label) for rx, label in _EN_LABELS)
_LABEL_RE = "|".join([f"(?:{rx})" for rx, _ in _EN_LABELS] + list(_CN_LABELS))
#: distribution notices that travel with a corporate marking
_NOTICE = (
    r"(?i:do\s+not\s+(?:distribute|forward|copy|disclose|share)|not\s+for\s+(?:external\s+)?distribution"
    r"|(?:attorney|lawyer|solicitor)[\s-]+client(?:\s+privileged?)?(?:\s+communication)?|privileged)"
)
#: an organisation's name before an English label in a running head or foot ("Acme Corp | Confidential")
_ORG = re.compile(
    r"\s*(?:(?:©|\([Cc]\)|Copyright)\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?)?\s*)?"  # © 2024 Acme Corp. Confidential
    r"(?:[A-Z0-9][\w&.,'’-]*\s+){0,3}[A-Z0-9][\w&.,'’-]*\s*[|–—\-·•:]?\s*"
)
_COMPANIONS = EN_COMPANIONS | CN_COMPANIONS | Companions.of(
    rf"{_NOTICE}|(?i:\b(?:{_LABEL_RE})\b)", "".join(_CN_LABELS)
)


class CorporateMarkingDetector(MarkingDetector):
    """Company Confidential, Internal Use Only, Restricted, 公司机密, 商业秘密, 内部公开 …

    A label counts on a line of its own (notices such as "Do not distribute",
    page numbers and a "Classification:" label may share the line) in the
    head or foot of a document or page or in a header/footer part; after a
    "Classification:"/"密级：" label anywhere; with a ★ (商密★5年) at the start
    of any line. An all-capitals CONFIDENTIAL alone is a US classification
    banner (``marking.us_classification``); mixed-case "Confidential" is
    corporate. 公司机密 and 商业秘密 are corporate even though they contain
    机密/秘密.
    """

    id = "marking.corporate"
    severity = Severity.MEDIUM
    prefilter = edge_prefilter(
        ("confidential", "internal", "proprietary", "restricted", "trade secret", *_CN_LABELS),
        trail="[-|/(]",
    )
    prefilter_caseless = True
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"(?<![A-Za-z0-9_])(?P<label>(?i:{_LABEL_RE}))(?![A-Za-z0-9_]){CN_STAR_PERIOD}?"
    )

    def judge(self, m: re.Match[str], segment: Segment) -> Verdict | None:
        text = segment.text
        line = Line.around(text, m.start(), m.end())
        if line.quoted:
            return None
        if m.group("star") and line.runs_on and bare(line.after, _COMPANIONS):
            return None  # a sentence about the marking
        if not m.group("star") and (line.runs_on or bare(line.after, _COMPANIONS)):
            return None
        org = False
        if bare(line.before, _COMPANIONS):
            org = m.group("label").isascii() and _ORG.fullmatch(line.before) is not None
            if not org:
                return None
        if self.pattern.search(text, line.start, m.start()):
            return None  # "Confidential - Internal Use Only": one marking, reported at its first label
        raw = m.group("label")
        label = next((lb for rx, lb in _CANONICAL if rx.fullmatch(raw)), None) or normalise_cn(raw)
        if label == "Confidential" and raw.isupper() and not bare(line.before + " " + line.after, EN_COMPANIONS):
            return None  # a bare CONFIDENTIAL banner is a US classification marking
        if m.group("star"):
            form, confidence = "legal", 0.9
        elif not org and (cn_labelled(line) or en_labelled(line)):
            form, confidence = "label", 0.9
        elif at_edge(segment, line):
            form, confidence = edge_form(segment), 0.85
        else:
            return None
        return Verdict(m.start(), m.end(), confidence, self.severity, {"label": label, "form": form})
