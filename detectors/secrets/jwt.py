"""JSON Web Tokens (JWS compact serialisation)."""

from __future__ import annotations

import re

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.validators import ends_inside_token, jwt_parts


#: the token on jwt.io and in countless tutorials
_DOC_SIGNATURES = frozenset(["SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"])
_DOC_PAYLOAD = {"sub": "1234567890", "name": "John Doe", "iat": 1516239022}


class JwtDetector(PatternDetector):
    id = "secret.jwt"
    severity = Severity.HIGH
    # a JSON object starts '{"' = "eyJ"; the payload may start '{ ' ("eyA"/"ewo") too
    prefilter = r"eyJ[A-Za-z0-9_-]{10,}\.e[wy][A-Za-z0-9_-]{10,}\."
    pattern = re.compile(
        r"(?<![A-Za-z0-9_-])(?P<value>eyJ[A-Za-z0-9_-]{10,}\.e[wy][A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*)"
        r"(?![A-Za-z0-9_-]|\.[A-Za-z0-9_-])"
    )
    margin = 1024  # RS512 signatures alone are 683 characters
    base_confidence = 0.8
    hotwords = ("bearer", "authorization", "token", "jwt", "session", "cookie")
    exclusions = ("示例", "dummy", "placeholder")

    def validate(self, value: str, match: re.Match[str], segment: Segment) -> bool:
        if ends_inside_token(segment.text, match.end("value"), "-_"):
            return False
        parts = jwt_parts(value)
        return parts is not None and parts[1] != _DOC_PAYLOAD and value.rsplit(".", 1)[1] not in _DOC_SIGNATURES

    def confidence(self, value: str, match: re.Match[str], segment: Segment) -> float:
        parts = jwt_parts(value)
        # unsigned tokens grant nothing by themselves
        return 0.5 if parts and parts[0]["alg"].lower() == "none" else self.base_confidence

    def attributes(self, value: str, match: re.Match[str], segment: Segment) -> dict[str, object]:
        parts = jwt_parts(value)
        return {"alg": parts[0]["alg"]} if parts else {}
