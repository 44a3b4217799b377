"""Slack tokens (xoxb/xoxp/xoxa/xoxr/xoxs/xoxo/xoxe, xapp) and incoming-webhook URLs."""

from __future__ import annotations

import re

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.validators import ends_inside_token


class SlackTokenDetector(PatternDetector):
    id = "secret.slack_token"
    severity = Severity.HIGH
    prefilter = (
        r"xox[abeoprs](?:\.xox[bp])?-[0-9A-Za-z]{1,20}-[0-9A-Za-z]"
        r"|xapp-[0-9]-[A-Z0-9]{6}"
        r"|hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6}"
    )
    pattern = re.compile(
        r"(?<![A-Za-z0-9])(?P<value>"
        r"xox[abeoprs](?:\.xox[bp])?-[0-9A-Za-z]{1,20}(?:-[0-9A-Za-z]{1,255}){1,4}"
        r"|xapp-[0-9]-[A-Z0-9]{6,20}-[0-9]{6,20}-[A-Za-z0-9]{20,80}"
        r"|(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,12}"
        r"/[A-Z0-9]{6,14}/[A-Za-z0-9]{16,40}"
        r")(?![A-Za-z0-9-])"
    )
    margin = 320  # rotating tokens (xoxe.xoxp-1-...) run to ~200 characters
    base_confidence = 0.8
    hotwords = ("slack", "token", "webhook", "bot")
    exclusions = ("示例", "dummy", "placeholder")

    def validate(self, value: str, match: re.Match[str], segment: Segment) -> bool:
        if ends_inside_token(segment.text, match.end("value"), "-"):
            return False
        if "hooks.slack.com" in value:
            secret = value.rsplit("/", 1)[1]
        else:
            secret = value.split("-", 1)[1]
            # tokens carry numeric team/user ids and a random tail: "xoxb-your-token"
            # and "xoxb-XXXX-XXXX" have neither
            if not re.search(r"[0-9]{6}", secret) and len(secret) < 40:
                return False
        low = secret.lower()
        return "example" not in low and "xxxx" not in low and len(set(secret)) >= 10

    def attributes(self, value: str, match: re.Match[str], segment: Segment) -> dict[str, object]:
        return {"kind": "webhook" if "hooks.slack.com" in value else value.split("-", 1)[0]}
