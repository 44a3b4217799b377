"""The last check before a payload is stored: no raw sensitive value leaves.

The store holds only masked values and keyed hashes, but file, host and user
names are free text from endpoints and can themselves carry an ID number or a
key (``/home/u/11010519491231002X.xlsx``). Every payload is scanned with the
same PII and secret detectors the agent uses; whatever they recognise is
replaced by its masked rendering: first in the alert's free-text fields,
then, as the final assertion, in every string of every built payload. All
strings of a payload cost one Hyperscan scan; only a payload with a hit is
walked string by string.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from detectors.engine import Engine
from detectors.extract.segment import Segment
from detectors.findings import mask
from detectors.registry import BUILTIN
from server.forward.alert import AlertView

log = logging.getLogger(__name__)

# E-mail addresses are how responders and users are named; markings are not values.
GUARDED = tuple(d for d in BUILTIN if d.split(".", 1)[0] in ("pii", "secret") and d != "pii.email")


class Scrubber:
    def __init__(self, detector_ids: tuple[str, ...] = GUARDED) -> None:
        self.engine = Engine([BUILTIN[d]() for d in detector_ids])
        self.masked = 0  # values masked since start (a metric: should stay 0)

    def scrub_alert(self, alert: AlertView) -> AlertView:
        """Mask values in the alert's free-text fields before any format escapes them
        (an escaped rendering, e.g. Markdown's ``4111\\-1111``, could hide a value from the final check)."""
        texts = [alert.host, alert.user, alert.path, alert.title,
                 *(v for d in (alert.device, alert.destination) for v in d.values())]
        strings = [t for t in texts if isinstance(t, str)]
        if not self.engine.scan(Segment(text="\n".join(strings), path="alert")):
            return alert
        m = self._mask
        return alert.with_(
            host=m(alert.host), user=alert.user and m(alert.user), path=alert.path and m(alert.path),
            title=alert.title and m(alert.title),
            device={k: m(v) if isinstance(v, str) else v for k, v in alert.device.items()},
            destination={k: m(v) if isinstance(v, str) else v for k, v in alert.destination.items()})

    def scrub(self, payload: dict[str, Any]) -> dict[str, Any]:
        # The JSON text holds every string of the payload verbatim (no ASCII escaping), in one C call.
        text = json.dumps(payload, ensure_ascii=False)
        if not self.engine.scan(Segment(text=text, path="payload")):
            return payload
        return _rewrite(payload, self._mask)

    def _mask(self, text: str) -> str:
        matches = self.engine.scan(Segment(text=text, path="payload"))
        for m in sorted(matches, key=lambda m: m.start, reverse=True):
            text = text[: m.start] + mask(text[m.start : m.end]) + text[m.end :]
            self.masked += 1
            log.warning("forward: masked a %s value found in a payload string", m.detector)
        return text


def _rewrite(obj: Any, fn: Any) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _rewrite(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rewrite(v, fn) for v in obj]
    return obj
