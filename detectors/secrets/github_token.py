"""GitHub tokens: classic (ghp_/gho_/ghu_/ghs_/ghr_) and fine-grained (github_pat_)."""

from __future__ import annotations

import re

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.validators import github_checksum

_KINDS = {"ghp": "personal", "gho": "oauth", "ghu": "user-to-server", "ghs": "server-to-server",
          "ghr": "refresh", "github_pat": "fine-grained"}


#: the token shown in GitHub's own documentation
_DOC_TOKENS = frozenset(["ghp_16C7e42F292c6912E7710c838347Ae178B4a"])


class GithubTokenDetector(PatternDetector):
    id = "secret.github_token"
    severity = Severity.HIGH
    prefilter = r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82}"
    pattern = re.compile(
        r"(?<![A-Za-z0-9_])(?P<value>gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})(?![A-Za-z0-9_])"
    )
    margin = 4  # the hit is the value; only the boundary checks look past it
    base_confidence = 0.8
    hotwords = ("github", "token", "gh_", "authorization", "bearer")
    exclusions = ("示例", "dummy", "placeholder")

    def validate(self, value: str, match: re.Match[str], segment: Segment) -> bool:
        body = value[11:] if value.startswith("github_pat_") else value[4:]
        # "ghp_xxxx...", "ghp_0000...", "ghp_EXAMPLE...": placeholders, not tokens
        return "example" not in body.lower() and len(set(body)) >= 12 and value not in _DOC_TOKENS

    def confidence(self, value: str, match: re.Match[str], segment: Segment) -> float:
        # GitHub's own CRC32 checksum proves a real token; generated ones may lack it
        return 0.95 if github_checksum(value) else self.base_confidence

    def attributes(self, value: str, match: re.Match[str], segment: Segment) -> dict[str, object]:
        kind = "github_pat" if value.startswith("github_pat_") else value[:3]
        return {"kind": _KINDS[kind], "checksum": github_checksum(value)}
