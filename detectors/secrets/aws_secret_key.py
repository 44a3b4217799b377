"""AWS secret access key: 40 base64 characters, recognised only by its context."""

from __future__ import annotations

import re

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.validators import shannon_entropy

#: aws_secret_access_key, AWS_SECRET_KEY, "aws secret", SecretAccessKey, secret_access_key ...
_KEYWORD = r"aws[_. -]?secret(?:[_. -]?access)?(?:[_. -]?key)?|secret[_. -]?access[_. -]?key"


class AwsSecretKeyDetector(PatternDetector):
    id = "secret.aws_secret_key"
    severity = Severity.CRITICAL
    # the keyword (aws_secret_access_key, SecretAccessKey, "aws secret" ...), or a key
    # id followed by the secret as in the credentials CSV AWS hands out
    prefilter = (
        r"aws[_. -]?secret|secret[_. -]?access[_. -]?key"
        r"|(?:AKIA|ASIA)[A-Z2-7]{16}[\t ,;|:]"
    )
    prefilter_caseless = True
    pattern = re.compile(
        rf"(?:(?i:{_KEYWORD})[^\n]{{0,40}}?|(?:AKIA|ASIA)[A-Z2-7]{{16}}[\t ,;|:]{{1,4}}[\"']?)"
        r"(?<![A-Za-z0-9/+])(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
    )
    # the match starts at the hit (keyword or key id); the value follows on the same line:
    # keyword rest + up to 40 characters + 40 + 1 lie within the window's end + 2 margins
    margin = 64
    base_confidence = 0.85
    exclusions = ("示例", "dummy", "placeholder")

    def validate(self, value: str, match: re.Match[str], segment: Segment) -> bool:
        if "EXAMPLE" in value.upper():
            return False
        # real secrets are random base64: both cases (missing one has odds of 1e-9),
        # high entropy; a 40-hex SHA-1 or a word-like string is something else
        has_both = any(c.islower() for c in value) and any(c.isupper() for c in value)
        return has_both and shannon_entropy(value) >= 4.0
