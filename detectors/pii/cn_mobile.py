"""PRC mobile phone number: 1[3-9]x plus eight digits, optional +86 / 0086 / 86."""

from __future__ import annotations

import re

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.pii.fullwidth import PF_WIDE_DIGIT, FoldsFullwidth
from detectors.validators import continues_group

#: numbers printed in manuals and forms as samples (China Mobile's own service number, ...)
_WELL_KNOWN = frozenset(["13800138000", "13800000000", "13888888888"])
#: form-filling samples: 1xx1234 5678, 1xx8765 4321
_SAMPLE_TAILS = frozenset(["12345678", "87654321"])


class CnMobileDetector(FoldsFullwidth, PatternDetector):
    id = "pii.cn_mobile"
    severity = Severity.MEDIUM
    # starts after a non-digit or after the 86 country code, so that long digit
    # runs do not hit at every offset
    prefilter = (
        r"(?:^\.?|[^0-9.]|[^0-9]\.|86[ -]?)1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}"
        f"|\\xef\\xbc\\x91\\xef\\xbc[\\x93-\\x99]{PF_WIDE_DIGIT}"  # full-width １[３-９]x
    )
    # 3-4-4 with one consistent separator (or none); the country prefix is not part
    # of the value so "+86 139..." and "139..." hash alike; a bare "86" glued to the
    # number ("8613918594685") is more often a 13-digit id or timestamp
    pattern = re.compile(
        r"(?:(?<![0-9A-Za-z+])(?:(?:\+|00)86[ -]?|86[ -])|(?<![0-9A-Za-z])(?<![0-9]\.))"
        r"(?P<value>1[3-9][0-9](?P<sep>[ -]?)[0-9]{4}(?P=sep)[0-9]{4})"
        r"(?![0-9A-Za-z@]|\.[0-9])"  # "13918594685@163.com" is an e-mail address
    )
    # the prefilter covers the value and at least "86" of a prefix ("00"/"+" lie before the
    # hit); a full-width hit (１３９) leaves 10 characters, the ＋８６ prefix 4 before it
    margin = 16
    base_confidence = 0.6
    hotwords = (
        "手机", "手機", "电话", "電話", "联系", "聯繫", "聯絡", "致电", "致電", "拨打", "撥打", "微信",
        "mobile", "phone", "tel", "cell", "whatsapp",
    )
    exclusions = ("示例", "样例", "樣例", "例如", "for example", "e.g.")

    def validate(self, value: str, match: re.Match[str], segment: Segment) -> bool:
        digits = value.replace(" ", "").replace("-", "")
        if digits in _WELL_KNOWN or digits[3:] in _SAMPLE_TAILS or len(set(digits[3:])) == 1:
            return False
        return not (match.group("sep") and continues_group(segment.text, match.start(), match.end()))

    def confidence(self, value: str, match: re.Match[str], segment: Segment) -> float:
        return self.base_confidence + (0.1 if match.start() != match.start("value") else 0.0)
