"""Masking of sensitive values inside names: file paths, host, user and device names.

Findings carry only masked values, but the names around them are free text
from the endpoint and can themselves hold a value (``/home/u/11010519491231002X.xlsx``,
a USB stick labelled with a card number). Whatever the PII and secret detectors
recognise in such a string is replaced by its masked rendering. The agent
applies this before an event is spooled; the collector applies it again at
ingest (an old or hostile agent must not be able to plant a value in the store).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

import msgspec

from detectors.engine import Engine
from detectors.extract.segment import Segment
from detectors.findings import mask
from detectors.registry import BUILTIN

S = TypeVar("S", bound=msgspec.Struct)

# E-mail addresses are how people are named (users, responders); markings are labels, not values.
GUARDED = tuple(d for d in BUILTIN if d.split(".", 1)[0] in ("pii", "secret") and d != "pii.email")


class Redactor:
    def __init__(self, detector_ids: tuple[str, ...] = GUARDED) -> None:
        self.engine = Engine([BUILTIN[d]() for d in detector_ids])
        self.masked = 0  # values masked since start (a metric)

    def has_values(self, text: str) -> bool:
        return bool(text) and bool(self.engine.scan(Segment(text=text, path="names")))

    def mask_text(self, text: str) -> str:
        """``text`` with every recognised value masked (unchanged when there is none)."""
        matches = self.engine.scan(Segment(text=text, path="names"))
        for m in sorted(matches, key=lambda m: m.start, reverse=True):
            text = text[: m.start] + mask(text[m.start: m.end]) + text[m.end:]
            self.masked += 1
        return text

    def mask_strings(self, obj: Any, keep: Collection[str] = ()) -> Any:
        """A copy of a JSON-like value with every string masked, except the values of keys in ``keep``
        (identifiers and hashes that must stay byte-exact). Cheap when there is nothing to mask:
        all strings cost one scan."""
        if not self.has_values(json.dumps(obj, ensure_ascii=False)):
            return obj
        return _rewrite(obj, self.mask_text, frozenset(keep))

    def mask_structs(self, items: Sequence[S], keep: Collection[str] = ()) -> list[S]:
        """Records (msgspec structs such as wire events) with every string field masked but those in
        ``keep``; the records that hold nothing come back as they were. One scan for the whole list
        in the usual clean case."""
        if not self.has_values(msgspec.json.encode(items).decode()):
            return list(items)
        out = []
        for item in items:
            raw = msgspec.to_builtins(item)
            clean = self.mask_strings(raw, keep)
            out.append(item if clean is raw else msgspec.convert(clean, type(item)))
        return out


def _rewrite(obj: Any, fn: Callable[[str], str], keep: frozenset[str]) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: v if k in keep else _rewrite(v, fn, keep) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rewrite(v, fn, keep) for v in obj]
    return obj
