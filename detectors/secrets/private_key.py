"""PEM, OpenSSH and PGP private key blocks (not public keys, not certificates)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Match, Severity
from detectors.validators import is_der_sequence, private_key_block

#: how far the END line may be from BEGIN (an RSA-8192 PEM is ~6.5 kB)
_MAX_BLOCK = 16384
_END = re.compile(r"-----END ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----")


class PrivateKeyDetector(PatternDetector):
    id = "secret.private_key"
    severity = Severity.CRITICAL
    prefilter = r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY"
    pattern = re.compile(r"-----BEGIN (?P<label>(?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?)-----")
    margin = 0
    base_confidence = 0.95
    exclusions = ("示例", "dummy", "placeholder")

    def verify(self, segment: Segment, start: int, end: int) -> Iterator[Match]:
        # the whole block is one finding, so the END line is searched for here rather
        # than by widening the engine's window for every detector's hit
        text = segment.text
        for m in self.pattern.finditer(text, max(0, start - 64), min(len(text), end + 64)):
            label = m.group("label")
            e = _END.search(text, m.end(), min(len(text), m.end() + _MAX_BLOCK))
            if e is None:
                continue
            # keys embedded in JSON/env strings carry literal "\n" escapes
            body = text[m.end():e.start()].replace("\\n", "\n").replace("\\r", "")
            raw = private_key_block(label, e.group(1), body)
            if raw is None:
                continue
            # a real unencrypted PEM body is DER; random base64 under a key label is
            # still reported (a damaged or fabricated key), just less surely
            plain_pem = not any(w in label for w in ("OPENSSH", "PGP", "ENCRYPTED")) and "Proc-Type" not in body
            confidence = 0.75 if plain_pem and not is_der_sequence(raw) else self.base_confidence
            yield Match(
                detector=self.id, start=m.start(), end=e.end(), value=text[m.start():e.end()],
                confidence=confidence, severity=self.severity,
                attributes={"key_type": label.removesuffix(" BLOCK").removesuffix("PRIVATE KEY").strip() or "PKCS8",
                            "bytes": len(raw)},
            )
