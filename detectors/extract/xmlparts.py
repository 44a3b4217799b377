"""Streaming, entity-safe XML parsing of document parts (OOXML, ODF).

Document parts never carry a DTD, so any DOCTYPE is refused before parsing
(no entity expansion, no external entities: what defusedxml guards against;
defusedxml itself forces the pure-Python ElementTree parser, which measured
several times slower here). The hot paths (Word text, sheet cells, slide
text) use expat callbacks directly, building no element objects at all.
Every part is read through a LimitedReader, so a compressed XML bomb stops
at the member limits.
"""

from __future__ import annotations

import codecs
import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import IO
from xml.etree.ElementTree import Element, iterparse
from xml.parsers import expat

from leakwarden.errors import EncryptedContent, LimitExceeded

from detectors.extract.archive import crc_notices, open_member
from detectors.extract.blob import Replay
from detectors.extract.limits import LimitedReader
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.walk import Walk

FEED = 1 << 16


class EntitiesForbidden(ValueError):
    """An XML document part declares a DTD or entities: refused (possible entity bomb)."""


def local(tag: str) -> str:
    """The tag without its {namespace} (or ``uri}`` from expat)."""
    return tag[tag.rfind("}") + 1:]


def open_part(zf: zipfile.ZipFile, name: str, walk: Walk) -> IO[bytes]:
    info = zf.getinfo(name)
    walk.budget.check_time()
    if info.flag_bits & 0x1:
        raise EncryptedContent(f"part {name} is encrypted")
    raw = open_member(zf, info, walk)
    return io.BufferedReader(LimitedReader(raw, walk.budget, compressed_size=info.compress_size))  # type: ignore[arg-type]


_ROOT_START = re.compile(rb"<[A-Za-z_:\x80-\xff]")


def _refuse_dtd(head: bytes) -> None:
    """Raise if the prolog (everything before the root element) holds a DTD."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        head = codecs.decode(head[: len(head) // 2 * 2], "utf-16").encode("utf-8", "replace")
    m = _ROOT_START.search(head)
    prolog = head[: m.start()] if m else head
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
        raise EntitiesForbidden("XML part declares a DTD (possible entity-expansion bomb); refused")
    if m is None and len(head) >= FEED:
        raise EntitiesForbidden("XML part has no root element in its first 64 KiB; refused")


def sax(source: IO[bytes], walk: Walk, *, start: Callable[[str, dict[str, str]], None] | None = None,
        end: Callable[[str], None] | None = None, data: Callable[[str], None] | None = None) -> Iterator[None]:
    """Feed ``source`` to expat in blocks, yielding after each block so the
    caller can hand on what the callbacks collected. Names arrive as
    ``namespace}local``."""
    head = source.read(FEED)
    _refuse_dtd(head)
    p = expat.ParserCreate(namespace_separator="}")
    p.buffer_text = True
    p.ordered_attributes = False
    if start:
        p.StartElementHandler = start
    if end:
        p.EndElementHandler = end
    if data:
        p.CharacterDataHandler = data

    def forbid(*_: object) -> None:
        raise EntitiesForbidden("XML part declares entities; refused")

    p.StartDoctypeDeclHandler = forbid
    p.EntityDeclHandler = forbid
    block = head
    while block:
        p.Parse(block, False)
        yield None
        walk.budget.check_time()
        block = source.read(FEED)
    p.Parse(b"", True)
    yield None


def events(source: IO[bytes], which: tuple[str, ...] = ("start", "end")) -> Iterator[tuple[str, Element]]:
    """ElementTree iterparse (C accelerated) behind the same DTD refusal."""
    head = source.read(FEED)
    _refuse_dtd(head)
    return iterparse(io.BufferedReader(Replay(head, source)), events=which)  # type: ignore[arg-type]


def rels(zf: zipfile.ZipFile, part: str, walk: Walk) -> dict[str, str]:
    """Relationship id -> target part name for ``part`` (its _rels/*.rels)."""
    folder, base = posixpath.split(part)
    rel_name = posixpath.join(folder, "_rels", base + ".rels")
    if rel_name not in zf.NameToInfo:
        return {}
    out: dict[str, str] = {}
    with open_part(zf, rel_name, walk) as f:
        for _, el in events(f, ("end",)):
            if local(el.tag) == "Relationship" and el.get("TargetMode") != "External":
                target = el.get("Target", "")
                full = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
                out[el.get("Id", "")] = full
    return out


def guarded(items: Iterator[Segment | Notice], display: str, part: str,
            walk: Walk | None = None) -> Iterator[Segment | Notice]:
    """One damaged part (bad XML, corrupt deflate data) is reported and the
    document's other parts are still read. Limits and encryption stop the
    whole document, so they pass through. With ``walk``, a part read with a
    bad CRC is reported right after its text."""
    try:
        yield from items
    except (LimitExceeded, EncryptedContent):
        raise
    except Exception as e:  # noqa: BLE001 - parsers of hostile parts raise anything
        yield Notice("error", display, f"part {part}: {type(e).__name__}: {str(e)[:200]}", {"part": part})
    if walk is not None:
        yield from crc_notices(walk, display)


def natural_key(name: str) -> tuple[object, ...]:
    """slide10.xml after slide9.xml."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))
