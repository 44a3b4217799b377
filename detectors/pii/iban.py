"""International bank account number (ISO 13616)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Match, Severity
from detectors.validators import iban_length, iso13616


#: the examples of the IBAN standard, Wikipedia and bank manuals
_DOC_EXAMPLES = frozenset([
    "GB82WEST12345698765432", "DE89370400440532013000", "GB29NWBK60161331926819", "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
])


class IbanDetector(PatternDetector):
    id = "pii.iban"
    severity = Severity.MEDIUM
    prefilter = r"[A-Z]{2}[0-9]{2} ?[A-Z0-9]{4} ?[A-Z0-9]{4} ?[A-Z0-9]{3}"
    # only the head: the end is fixed by the country's length (see verify), so a
    # following word or a second IBAN is never swallowed
    pattern = re.compile(r"(?<![A-Za-z0-9])(?P<value>[A-Z]{2}[0-9]{2})(?= ?[A-Z0-9]{4})")
    margin = 8  # the hit starts at the country code; verify reads the rest on the whole text
    base_confidence = 0.75
    hotwords = (
        "iban", "account", "konto", "compte", "bank", "wire",
        "账户", "賬戶", "帳戶", "账号", "賬號", "帳號", "汇款", "匯款",
    )
    exclusions = ("for example", "e.g.", "示例", "例如")

    def verify(self, segment: Segment, start: int, end: int) -> Iterator[Match]:
        text = segment.text
        for m in self.pattern.finditer(text, start, end):
            want = iban_length(m.group("value")[:2])
            if want is None:
                continue
            # take exactly the country's number of characters, a single space allowed
            # between groups of four (as printed, and as the prefilter expects)
            i, n, s = m.start("value"), 0, m.start("value")
            while i < len(text) and n < want:
                if text[i] == " " and n % 4 == 0 and i + 1 < len(text) and text[i + 1] != " ":
                    i += 1
                    continue
                if not (text[i].isascii() and text[i].isalnum()):
                    break
                n += 1
                i += 1
            if n != want or (i < len(text) and text[i].isascii() and text[i].isalnum()):
                continue
            value = text[s:i]
            if not iso13616(value) or "".join(value.split()).upper() in _DOC_EXAMPLES:
                continue
            yield Match(
                detector=self.id, start=s, end=i, value=value, confidence=self.base_confidence,
                severity=self.severity, attributes={"country": value[:2]},
            )
