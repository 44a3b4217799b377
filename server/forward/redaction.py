"""The last check before a payload is stored: no raw sensitive value leaves.

The store holds only masked values and keyed hashes, but file, host and user
names are free text from endpoints and can themselves carry an ID number or a
key (``/home/u/11010519491231002X.xlsx``). Every payload is scanned with the
same PII and secret detectors the agent uses (``detectors.redact``, the masking
the agent applies before spooling and the collector at ingest); whatever they recognise is
replaced by its masked rendering: first in the alert's free-text fields,
then, as the final assertion, in every string of every built payload. All
strings of a payload cost one Hyperscan scan; only a payload with a hit is
walked string by string.
"""

from __future__ import annotations

import logging
from typing import Any

from detectors.redact import GUARDED, Redactor
from server.forward.alert import AlertView

log = logging.getLogger(__name__)


class Scrubber:
    def __init__(self, detector_ids: tuple[str, ...] = GUARDED) -> None:
        self.redactor = Redactor(detector_ids)

    @property
    def masked(self) -> int:
        """Values masked since start (a metric: should stay 0, the agent and ingest mask names first)."""
        return self.redactor.masked

    def scrub_alert(self, alert: AlertView) -> AlertView:
        """Mask values in the alert's free-text fields before any format escapes them
        (an escaped rendering, e.g. Markdown's ``4111\\-1111``, could hide a value from the final check)."""
        texts = [alert.host, alert.user, alert.path, alert.title,
                 *(v for d in (alert.device, alert.destination) for v in d.values())]
        strings = [t for t in texts if isinstance(t, str)]
        if not self.redactor.has_values("\n".join(strings)):
            return alert
        m = self._mask
        return alert.with_(
            host=m(alert.host), user=alert.user and m(alert.user), path=alert.path and m(alert.path),
            title=alert.title and m(alert.title),
            device={k: m(v) if isinstance(v, str) else v for k, v in alert.device.items()},
            destination={k: m(v) if isinstance(v, str) else v for k, v in alert.destination.items()})

    def scrub(self, payload: dict[str, Any]) -> dict[str, Any]:
        before = self.redactor.masked
        # the JSON text holds every string of the payload verbatim (no ASCII escaping): one scan
        clean: dict[str, Any] = self.redactor.mask_strings(payload)
        if self.redactor.masked != before:
            log.warning("forward: masked %d sensitive value(s) found in a payload", self.redactor.masked - before)
        return clean

    def _mask(self, text: str) -> str:
        before = self.redactor.masked
        out = self.redactor.mask_text(text)
        if self.redactor.masked != before:
            log.warning("forward: masked a sensitive value found in an alert field")
        return out
