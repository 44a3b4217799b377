"""Pre-publication review (regulation art. 23): a document in, a verdict and redacted findings out.

Only the verdict and the document's keyed hash are kept (plus who asked and
when, for the audit); the document and its findings are not stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from leakwarden.errors import ConfigError
from server.api.access import actor, person
from server.api.responses import ApiError, json_response, read_body
from server.keys import CONFIG, SCANNER, STORE

routes = web.RouteTableDef()
BLOCKING_SEVERITIES = ("high", "critical")


def load_collector_hash_key(hash_key_file: Path | None, data_dir: Path, source: str = "<config>") -> bytes:
    """The organisation key from ``review.hash_key_file``, else one made once in the data directory (0600).

    Problems are :class:`ConfigError`s naming the config file and key, found at start.
    """
    path = hash_key_file or data_dir / "hash.key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError as e:
        if hash_key_file is not None:
            raise ConfigError(source, "review.hash_key_file", f"file not found: {hash_key_file}") from e
    except OSError as e:
        key = "review.hash_key_file" if hash_key_file is not None else "storage.data_dir"
        raise ConfigError(source, key, f"cannot read {path}: {e.strerror or e}") from e
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
    except OSError as e:
        raise ConfigError(source, "storage.data_dir", f"cannot create {path}: {e.strerror or e}") from e
    return key


class ReviewService:
    """Holds the review policy (loaded at start, so a missing or invalid one stops the start) and the
    scanner (built on first use: the detectors take a moment to compile)."""

    def __init__(self, policy: Path | None, hash_key: bytes, source: str = "<config>") -> None:
        from detectors.policy import load_policy
        self.policy, self.hash_key = policy, hash_key
        try:
            self._policy = load_policy(policy)
        except ConfigError as e:
            raise ConfigError(source, "review.policy", str(e)) from e
        self._scanner: Any = None
        self._lock: asyncio.Lock | None = None  # made on first use, on the app's loop

    @property
    def lock(self) -> asyncio.Lock:
        """One scan at a time per collector: it is CPU-bound and ingest must keep its share."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def scanner(self) -> Any:
        if self._scanner is None:
            from detectors.scan import Scanner
            self._scanner = Scanner(policy=self._policy, hash_key=self.hash_key)
        return self._scanner

    def review(self, data: bytes, name: str) -> dict[str, Any]:
        result = self.scanner().scan_bytes(data, name)
        findings = [f.to_dict() for f in result.findings]
        for f in findings:
            f.pop("value", None)  # never, even if a policy asked for values
        verdict = verdict_for(findings, result.error)
        return {"verdict": verdict, "document_hash": hmac.new(self.hash_key, data, hashlib.sha256).hexdigest(),
                "size": len(data), "media_type": result.media_type, "error": result.error,
                "findings": findings}


def verdict_for(findings: list[dict[str, Any]], error: str | None) -> str:
    """``blocked``: a marking, an encrypted part or a high/critical finding; ``needs_review``: other
    findings, or a document that could not be read completely; ``publishable``: nothing found."""
    for f in findings:
        det = f["detector"]
        if det.startswith("marking.") or det == "container.encrypted" or f["severity"] in BLOCKING_SEVERITIES:
            return "blocked"
    if findings or error:
        return "needs_review"
    return "publishable"


async def _document(request: web.Request, limit: int, timeout: float) -> tuple[bytes, str]:
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async with asyncio.timeout(timeout):
            async for part in reader:
                if getattr(part, "name", None) != "file":
                    continue
                chunks, size = [], 0
                while chunk := await part.read_chunk(65536):
                    size += len(chunk)
                    if size > limit:
                        raise ApiError(413, "too_large", f"document exceeds {limit} bytes")
                    chunks.append(chunk)
                # clients send non-ASCII names percent-encoded (RFC 5987/7578)
                name = unquote(part.filename or "document")  # type: ignore[union-attr]
                return b"".join(chunks), name[:255]
        raise ApiError(422, "invalid_field", "multipart body needs a part named 'file'", field="file")
    return await read_body(request, limit, timeout), (request.query.get("name") or "document")[:255]


@routes.post("/api/v1/review")
@person("analyst")
async def review(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    try:
        data, name = await _document(request, cfg.review_max_bytes, cfg.body_timeout)
    except TimeoutError as e:
        raise ApiError(408, "body_timeout", "document not received in time") from e
    if not data:
        raise ApiError(422, "invalid_field", "empty document", field="file")
    return json_response({"name": name, **await review_document(request.app, data, name, actor=actor(request))})


async def review_document(app: web.Application, data: bytes, name: str, *, actor: str) -> dict[str, Any]:
    """Scan a document with the collector's ``ReviewService``, one scan at a time whichever door it came
    through (API or dashboard), and record the verdict; returns ``{"id", "verdict", "document_hash",
    "size", "media_type", "error", "findings"}`` (findings redacted)."""
    service = app[SCANNER]
    async with service.lock:
        out = await asyncio.get_running_loop().run_in_executor(None, service.review, data, name)
    stored = await app[STORE].add_review(actor, out["document_hash"], out["verdict"], len(out["findings"]),
                                         len(data), time.time())
    return {"id": stored.id, **out}
