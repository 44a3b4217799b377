"""Structured logs: one JSON object per line, ``ctx`` extras merged in.

Log calls pass context as ``extra={"ctx": {...}}``; values are paths, counts
and ids, never file content or matched values (those exist only inside the
scanner, and findings reach logs only as masked renderings). A value hiding in
a name (a path, a device label) is masked like in the spool.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time

from detectors.redact import Redactor

_redactor: Redactor | None = None
_redactor_lock = threading.Lock()


def _names_redactor() -> Redactor:
    global _redactor
    with _redactor_lock:  # built once, on the first log line (compiling its patterns takes a moment)
        if _redactor is None:
            _redactor = Redactor()
        return _redactor


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = getattr(record, "ctx", None)
        if isinstance(ctx, dict):
            out.update({k: v for k, v in ctx.items() if k not in out})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        line = json.dumps(out, ensure_ascii=False, default=str)
        # paths and device names in a log line can hold an ID number or key (a file named after its
        # owner's ID): the same masking as the spool's
        redactor = _names_redactor()
        if redactor.has_values(line):
            line = json.dumps(redactor.mask_strings(json.loads(line)), ensure_ascii=False)
        return line


def setup_logging(level: str, file: str | None) -> logging.Handler:
    handler: logging.Handler = logging.FileHandler(file) if file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h.formatter, JsonFormatter):
            root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    logging.getLogger("watchdog").setLevel(logging.WARNING)
    return handler
