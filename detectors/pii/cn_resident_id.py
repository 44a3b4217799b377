"""PRC resident identity number (居民身份证号码, GB 11643-1999)."""

from __future__ import annotations

import re

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.pii.fullwidth import FoldsFullwidth, pf_wide_digits
from detectors.validators import cn_resident_id, continues_group


#: the example number printed in GB 11643 itself, reused in every manual
_STANDARD_EXAMPLES = frozenset(["11010519491231002X"])
#: after the first character (one of [1-8]): not inside a digit run, a token or a decimal
_NOT_AFTER = r"(?<![0-9A-Za-z][1-8])(?<![0-9]\.[1-8])"
_DATE = r"(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"


class CnResidentIdDetector(FoldsFullwidth, PatternDetector):
    id = "pii.cn_resident_id"
    severity = Severity.HIGH
    # 6-digit area code, birth date 19xx/20xx, sequence, check character; forms
    # print it in three groups (area, birth date, sequence + check) too
    prefilter = (
        r"(?:^\.?|[^0-9.]|[^0-9]\.)[1-8][0-9]{5}(?:19|20)[0-9]{2}[01][0-9][0-3][0-9]{4}[0-9Xx]"
        r"|(?:^\.?|[^0-9.]|[^0-9]\.)[1-8][0-9]{5}[ -](?:19|20)[0-9]{2}[01][0-9][0-3][0-9][ -][0-9]{3}[0-9Xx]"
        "|" + pf_wide_digits(6)
    )
    # not inside a longer digit run, an alphanumeric token (hashes, uuids) or a
    # decimal number; CJK characters are \w in Python, so \b would miss "身份证号110..."
    # The look-behinds come after the first digit: a pattern that opens with a character
    # class lets re skip to candidate positions instead of trying every offset (2x faster)
    pattern = re.compile(
        rf"(?P<value>[1-8]{_NOT_AFTER}[0-9]{{5}}{_DATE}[0-9]{{3}}[0-9Xx]"
        rf"|[1-8]{_NOT_AFTER}[0-9]{{5}}(?P<sep>[ -]){_DATE}(?P=sep)[0-9]{{3}}[0-9Xx])(?![0-9A-Za-z]|\.[0-9])"
    )
    # the prefilter covers the whole value; a full-width hit (6 digits) leaves up to 14
    # characters and the look-ahead's 2, which the window's end + 2 margins reach
    margin = 24
    base_confidence = 0.75
    hotwords = (
        "身份证", "身份證", "身份号码", "身份號碼", "证件号", "證件號", "公民身份",
        "id card", "id no", "id number", "identity",
    )
    exclusions = ("示例", "样例", "樣例", "例如", "for example", "e.g.")

    def validate(self, value: str, match: re.Match[str], segment: Segment) -> bool:
        digits = value.replace(" ", "").replace("-", "")
        if match.group("sep") and continues_group(segment.text, match.start("value"), match.end("value")):
            return False
        return digits.upper() not in _STANDARD_EXAMPLES and cn_resident_id(digits)

    def attributes(self, value: str, match: re.Match[str], segment: Segment) -> dict[str, object]:
        return {"region": value[:2]}
