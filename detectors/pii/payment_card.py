"""Payment card number (PAN): issuer prefix, issuer length, Luhn."""

from __future__ import annotations

import re

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.pii.fullwidth import FoldsFullwidth, pf_wide_digits
from detectors.validators import cn_resident_id, continues_group, luhn

#: (prefix low, prefix high, allowed lengths, scheme); prefixes compared on the same
#: number of leading digits as ``low``
_ISSUERS: tuple[tuple[str, str, frozenset[int], str], ...] = (
    # lengths as issued today: the narrower, the fewer random Luhn-valid numbers pass
    ("34", "34", frozenset([15]), "amex"),
    ("37", "37", frozenset([15]), "amex"),
    ("4", "4", frozenset([16, 19]), "visa"),  # 13-digit Visa numbers are no longer issued
    ("51", "55", frozenset([16]), "mastercard"),
    ("2221", "2720", frozenset([16]), "mastercard"),
    ("2200", "2204", frozenset([16]), "mir"),
    ("6011", "6011", frozenset([16, 19]), "discover"),
    ("644", "649", frozenset([16, 19]), "discover"),
    ("65", "65", frozenset([16, 19]), "discover"),
    # 17/18-digit UnionPay and Maestro numbers are rare; 18-digit order and waybill
    # numbers are everywhere
    ("62", "62", frozenset([16, 19]), "unionpay"),
    ("81", "81", frozenset([16]), "unionpay"),
    ("3528", "3589", frozenset([16, 19]), "jcb"),
    ("300", "305", frozenset([14, 16]), "diners"),
    ("3095", "3095", frozenset([14, 16]), "diners"),
    ("36", "36", frozenset([14]), "diners"),
    ("38", "39", frozenset([16]), "diners"),
    ("50", "50", frozenset([16, 19]), "maestro"),
    ("56", "58", frozenset([16, 19]), "maestro"),
    ("60", "60", frozenset([16]), "rupay"),
    ("63", "63", frozenset([16, 19]), "maestro"),
    ("67", "67", frozenset([16, 19]), "maestro"),
)


#: labels that name the number as something else: an order, a waybill, a reference
_NOT_A_CARD = re.compile(
    r"(?i)(?:订单|訂單|单号|單號|编号|編號|流水|运单|運單|快递|快遞|工号|工號|学号|學號|order|invoice|tracking|waybill|ref\b|reference|txn|"
    r"transaction|serial|isbn|\bid\b|ts\b|timestamp)[^\n]{0,12}$"
)


#: test numbers published by card schemes and payment processors (Stripe, Adyen, PayPal ...)
_TEST_PANS = frozenset([
    "378282246310005", "371449635398431", "6011111111111117", "6011000990139424", "3530111333300000",
    "3566002020360505", "4012888888881881", "4000056655665556", "5200828282828210", "2223003122003222",
    "6200000000000005", "30569309025904", "38520000023237", "6250941006528599", "6011000400000000",
    "5425233430109903", "2222420000001113", "4917610000000000", "4444333322221111", "6304000000000000",
])


def issuer(digits: str) -> str | None:
    """The card scheme whose prefix and length fit ``digits``, else ``None``."""
    for low, high, lengths, scheme in _ISSUERS:
        head = digits[: len(low)]
        if low <= head <= high and len(digits) in lengths:
            return scheme
    return None


class PaymentCardDetector(FoldsFullwidth, PatternDetector):
    id = "pii.payment_card"
    severity = Severity.HIGH
    # the first 12-14 digits in any grouping (4-4-4-4, 4-6-5, contiguous), the window
    # holds the rest; the leading non-digit keeps a long run from hitting at every offset
    prefilter = r"(?:^\.?|[^0-9.]|[^0-9]\.)[2-8][0-9]{3}[ -]?[0-9]{4}[0-9]{0,2}[ -]?[0-9]{4}|" + pf_wide_digits(4)
    # not inside a digit run or token, nor the fraction of a decimal number; the look-behinds
    # follow the first digit so that re skips to candidate positions (see cn_resident_id)
    pattern = re.compile(
        r"(?P<value>[2-8](?<![0-9A-Za-z][2-8])(?<![0-9]\.[2-8])(?:"
        r"[0-9]{12,18}"  # contiguous
        r"|[0-9]{3}(?P<s1>[ -])[0-9]{6}(?P=s1)[0-9]{4,5}"  # Amex/Diners 4-6-5 / 4-6-4
        r"|[0-9]{3}(?P<s2>[ -])[0-9]{4}(?P=s2)[0-9]{4}(?P=s2)[0-9]{1,4}(?:(?P=s2)[0-9]{1,3})?"  # 4-4-4-4(-3)
        r"))(?![0-9A-Za-z]|\.[0-9])"
    )
    # the prefilter covers the first 12-14 digits; a full-width hit (4 digits) leaves up to
    # 19 characters (4-4-4-4-3 with separators) and the look-ahead's 2
    margin = 32
    base_confidence = 0.65
    hotwords = (
        "卡号", "卡號", "银行卡", "銀行卡", "信用卡", "借记卡", "借記卡", "储蓄卡", "儲蓄卡", "银联", "銀聯",
        "card", "credit", "debit", "visa", "mastercard", "amex", "unionpay", "cc=", "cc:", "cc_number", "cardnumber",
    )
    exclusions = ("示例", "样例", "樣例", "例如", "测试卡", "測試卡", "test card", "for example", "e.g.")

    def validate(self, value: str, match: re.Match[str], segment: Segment) -> bool:
        digits = value.replace(" ", "").replace("-", "")
        if not luhn(digits) or issuer(digits) is None or len(set(digits)) < 4 or digits in _TEST_PANS:
            return False
        if digits != value and continues_group(segment.text, match.start("value"), match.end("value")):
            return False
        # an 18-digit run that is a valid resident ID belongs to pii.cn_resident_id
        return not (len(digits) == 18 and cn_resident_id(digits))

    def confidence(self, value: str, match: re.Match[str], segment: Segment) -> float:
        # below the default policy floor (0.5): a card hotword nearby (+0.3) brings it back
        start = match.start("value")
        if _NOT_A_CARD.search(segment.text, max(0, start - 24), start):
            return 0.3
        return self.base_confidence

    def attributes(self, value: str, match: re.Match[str], segment: Segment) -> dict[str, object]:
        return {"scheme": issuer(value.replace(" ", "").replace("-", ""))}
