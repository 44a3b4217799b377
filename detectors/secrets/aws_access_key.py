"""AWS access key id (AKIA... long-term, ASIA... temporary, and the other IAM id prefixes)."""

from __future__ import annotations

import re

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Severity

_PREFIXES = "AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA"


class AwsAccessKeyDetector(PatternDetector):
    id = "secret.aws_access_key"
    severity = Severity.HIGH
    prefilter = rf"(?:{_PREFIXES})[A-Z2-7]{{16}}"
    pattern = re.compile(rf"(?<![A-Za-z0-9])(?P<value>(?:{_PREFIXES})[A-Z2-7]{{16}})(?![A-Za-z0-9])")
    margin = 4  # the hit is the value; only the boundary checks look past it
    base_confidence = 0.8
    hotwords = ("aws", "access_key", "accesskey", "access key", "iam", "credentials")
    exclusions = ("example", "示例", "dummy", "placeholder")

    def validate(self, value: str, match: re.Match[str], segment: Segment) -> bool:
        # AWS documentation keys all carry EXAMPLE; real ids are random base32
        return "EXAMPLE" not in value and len(set(value[4:])) >= 6

    def confidence(self, value: str, match: re.Match[str], segment: Segment) -> float:
        # key ids that can sign requests (user and temporary keys) matter most
        return self.base_confidence if value[:4] in ("AKIA", "ASIA") else 0.6

    def attributes(self, value: str, match: re.Match[str], segment: Segment) -> dict[str, object]:
        return {"kind": {"AKIA": "long-term", "ASIA": "temporary"}.get(value[:4], "iam-id")}
