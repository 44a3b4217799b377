"""Streaming, entity-safe XML parsing of document parts (OOXML, ODF, XML files).

defusedxml refuses DTD entity declarations (billion laughs, external
entities); every part is read through a LimitedReader, so a compressed XML
bomb stops at the member limits. Elements are cleared as soon as they are
handled, so memory does not grow with the document.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterator
from typing import IO
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import iterparse

from leakwarden.errors import EncryptedContent, LimitExceeded

from detectors.extract.limits import LimitedReader
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.walk import Walk


def local(tag: str) -> str:
    """The tag without its {namespace}."""
    return tag.rsplit("}", 1)[-1]


def open_part(zf: zipfile.ZipFile, name: str, walk: Walk) -> IO[bytes]:
    info = zf.getinfo(name)
    walk.budget.check_time()
    if info.flag_bits & 0x1:
        raise EncryptedContent(f"part {name} is encrypted")
    raw = zf.open(info)
    return io.BufferedReader(LimitedReader(raw, walk.budget, compressed_size=info.compress_size))  # type: ignore[arg-type]


def events(source: IO[bytes], which: tuple[str, ...] = ("start", "end")) -> Iterator[tuple[str, Element]]:
    return iterparse(source, events=which, forbid_dtd=False, forbid_entities=True, forbid_external=True)


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


def guarded(items: Iterator[Segment | Notice], display: str, part: str) -> Iterator[Segment | Notice]:
    """One damaged part (bad XML, corrupt deflate data) is reported and the
    document's other parts are still read. Limits and encryption stop the
    whole document, so they pass through."""
    try:
        yield from items
    except (LimitExceeded, EncryptedContent):
        raise
    except Exception as e:  # noqa: BLE001 - parsers of hostile parts raise anything
        yield Notice("error", display, f"part {part}: {type(e).__name__}: {str(e)[:200]}", {"part": part})


def natural_key(name: str) -> tuple[object, ...]:
    """slide10.xml after slide9.xml."""
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))
