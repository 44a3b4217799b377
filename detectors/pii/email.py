"""E-mail address."""

from __future__ import annotations

import re

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Severity

#: RFC 2606/6761 names that can never be delivered to
_RESERVED_TLDS = frozenset(["test", "example", "invalid", "localhost", "local"])
#: documentation domains: kept, since rosters and test exports really hold them, but a
#: little less certain and flagged so a policy can drop them (min_confidence 0.65)
_EXAMPLE_DOMAINS = re.compile(r"(?:^|\.)example\.(?:com|org|net)$")
#: "icon@2x.png", "lib@1.2.min.js": asset names, not addresses
_FILE_SUFFIXES = frozenset(
    ["png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "css", "js", "mjs",
     "ts", "tsx", "jsx", "json", "xml", "html", "htm", "txt", "map", "woff", "woff2", "ttf", "vue"]
)
#: service accounts and SCM remotes that name no person
_NON_PERSONAL_LOCAL = frozenset(["git", "noreply", "no-reply", "donotreply", "mailer-daemon"])
#: letters and digits of local parts and domain labels: ASCII and accented Latin (not × ÷)
_L = "A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"


class EmailDetector(PatternDetector):
    id = "pii.email"
    severity = Severity.LOW
    # Latin letters with diacritics (josé@, bücher.de: U+00C0..U+024F, UTF-8 lead bytes
    # C3..C9) count in the local part and the domain; CJK does not, since an address
    # run into Chinese text (邮箱zhang@qq.com) would swallow the words before it
    prefilter = (
        r"[A-Za-z0-9_%+-]@[A-Za-z0-9][A-Za-z0-9-]*\.[A-Za-z0-9.-]*[A-Za-z]{2}"
        r"|(?:[A-Za-z0-9_%+-]|[\xc3-\xc9][\x80-\xbf])@(?:[A-Za-z0-9-]|[\xc3-\xc9][\x80-\xbf])+\.[A-Za-z0-9.-]*[A-Za-z]{2}"
    )
    pattern = re.compile(
        rf"(?<![{_L}._%+-])(?P<value>[{_L}](?:[{_L}._%+-]{{0,62}}[{_L}_%+-])?"
        rf"@(?:[{_L}](?:[{_L}-]{{0,61}}[{_L}])?\.){{1,8}}[A-Za-z]{{2,24}})"
        r"(?![A-Za-z0-9_-]|\.[A-Za-z0-9])"
    )
    margin = 80
    base_confidence = 0.7
    hotwords = ("email", "e-mail", "mail", "邮箱", "郵箱", "邮件", "郵件", "電郵", "contact", "联系", "聯繫", "聯絡")
    # Message-ID / In-Reply-To / References headers hold message ids shaped like addresses
    exclusions = ("for example", "e.g.", "示例", "例如", "your-email", "your_email", "youremail",
                  "message-id", "in-reply-to", "references:")

    def validate(self, value: str, match: re.Match[str], segment: Segment) -> bool:
        local, _, domain = value.rpartition("@")
        domain = domain.lower()
        tld = domain.rsplit(".", 1)[-1]
        if tld in _RESERVED_TLDS or tld in _FILE_SUFFIXES:
            return False
        if ".." in local or local.lower() in _NON_PERSONAL_LOCAL:
            return False
        if re.match(r"[0-9]+(?:\.[0-9]+)?x\.", domain):  # "@2x.", "@1.5x.": retina assets
            return False
        # "scheme://user:password@host.tld" is a credential URL, not an address
        start = match.start("value")
        before = segment.text[max(0, start - 256):start]  # bounded: rfind over a whole file is quadratic
        token_start = max(before.rfind(c) for c in " \t\n\"'<>(") + 1
        return "://" not in before[token_start:]

    def confidence(self, value: str, match: re.Match[str], segment: Segment) -> float:
        if _EXAMPLE_DOMAINS.search(value.rpartition("@")[2].lower()):
            return 0.6
        return self.base_confidence

    def attributes(self, value: str, match: re.Match[str], segment: Segment) -> dict[str, object]:
        return {"example_domain": True} if _EXAMPLE_DOMAINS.search(value.rpartition("@")[2].lower()) else {}
