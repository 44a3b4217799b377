"""Single-file compression: gzip, bzip2, xz. The content inside is extracted
like a member; a compressed TAR keeps the outer name (``a.tar.gz!c.txt``)."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Callable, Iterator
from typing import BinaryIO

from detectors.extract.blob import COPY_BLOCK, Blob
from detectors.extract.limits import LimitedReader
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.sniff import TAR, sniff_head
from detectors.extract.walk import Walk, extract_blob

_INNER_SUFFIX = {".tgz": ".tar", ".tbz2": ".tar", ".tbz": ".tar", ".txz": ".tar"}


def _inner_name(name: str, stored: str | None, suffixes: tuple[str, ...]) -> str:
    if stored:
        return stored
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    low = base.lower()
    for short, inner in _INNER_SUFFIX.items():
        if low.endswith(short):
            return base[: -len(short)] + inner
    for suffix in suffixes:
        if low.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return base + ".out"


def _gzip_stored_name(head: bytes) -> str | None:
    """FNAME from the gzip header (RFC 1952), if the compressor stored one."""
    if len(head) < 10 or not head[3] & 0x08:
        return None
    pos = 10
    if head[3] & 0x04:  # FEXTRA
        if len(head) < 12:
            return None
        pos += 2 + int.from_bytes(head[10:12], "little")
    end = head.find(b"\x00", pos, pos + 1024)
    if end < 0:
        return None
    name = head[pos:end].decode("latin-1").replace("\\", "/").rsplit("/", 1)[-1]
    return name or None


def _single(blob: Blob, walk: Walk, opener: Callable[[BinaryIO], BinaryIO], stored: str | None,
            suffixes: tuple[str, ...]) -> Iterator[Segment | Notice]:
    inner = _inner_name(blob.name, stored, suffixes)
    reader = LimitedReader(opener(blob.stream()), walk.budget, compressed_size=blob.size)  # type: ignore[arg-type]
    child = Blob(f"{blob.display}!{inner}", stream=io.BufferedReader(reader, COPY_BLOCK), name=inner)
    if sniff_head(child.head()) == TAR:
        # a.tar.gz is one archive to its users: members are a.tar.gz!member.
        child.display = blob.display
        yield from extract_blob(child, walk, TAR)
        return
    yield from walk.descend(child)


def extract_gzip(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    stored = _gzip_stored_name(blob.head())
    yield from _single(blob, walk, lambda f: gzip.GzipFile(fileobj=f, mode="rb"), stored, (".gz", ".gzip", ".z"))


def extract_bzip2(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    yield from _single(blob, walk, lambda f: bz2.BZ2File(f, mode="rb"), None, (".bz2", ".bz"))


def extract_xz(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    yield from _single(blob, walk, lambda f: lzma.LZMAFile(f, mode="rb"), None, (".xz", ".lzma"))
