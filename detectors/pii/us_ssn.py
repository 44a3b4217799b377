"""US social security number."""

from __future__ import annotations

import re

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.validators import continues_group, us_ssn

#: a bare nine-digit run counts only after one of these on the same line (not \b: CJK
#: characters are word characters, and "社保SSN" must count)
_SSN_WORDS = re.compile(r"(?i)(?<![a-z])(?:ssn|social\s+security|soc\.?\s*sec)|社会安全号|社會安全號|社会保障号|社會保障號")


class UsSsnDetector(PatternDetector):
    id = "pii.us_ssn"
    severity = Severity.HIGH
    prefilter = (
        r"[0-8][0-9]{2}[ -][0-9]{2}[ -][0-9]{4}"
        r"|ssn|social\s+security|soc\.?\s*sec|社会安全号|社會安全號|社会保障号|社會保障號"  # bare 9 digits: only after these
    )
    prefilter_caseless = True
    pattern = re.compile(
        r"(?<![0-9A-Za-z-])(?<![0-9]\.)(?P<value>[0-8][0-9]{2}(?P<sep>[ -])[0-9]{2}(?P=sep)[0-9]{4}|[0-8][0-9]{8})"
        r"(?![0-9A-Za-z]|[-.][0-9])"
    )
    # a grouped value is its own hit; a bare one follows its word within 48 characters
    margin = 32
    base_confidence = 0.6
    hotwords = ("ssn", "social security", "soc sec", "taxpayer", "社会安全", "社會安全")
    exclusions = ("for example", "e.g.", "示例", "例如", "sample ssn", "fake")

    def validate(self, value: str, match: re.Match[str], segment: Segment) -> bool:
        if not us_ssn(value):
            return False
        text, start = segment.text, match.start("value")
        lo = max(0, start - 48)
        nl = text.rfind("\n", lo, start)
        line_start = nl + 1 if nl >= 0 else lo
        if match.group("sep") is None:
            return bool(_SSN_WORDS.search(text, line_start, start))
        if match.group("sep") == " ":
            # space-separated: only with the word nearby, and never inside a longer grouped run
            if continues_group(text, start, match.end("value")):
                return False
            return bool(_SSN_WORDS.search(text, line_start, start))
        return True
