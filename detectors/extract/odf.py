"""OpenDocument text, spreadsheet and presentation (ODT, ODS, ODP).

One streaming pass over content.xml (and styles.xml for the headers and
footers of master pages): paragraphs, tables with cell references, slides
and their notes, annotations as comments.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from xml.etree.ElementTree import Element

from detectors.extract.archive import open_zip
from detectors.extract.blob import Blob
from detectors.extract.chunks import Chunker
from detectors.extract.ooxml import col_letters
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.sniff import ODP, ODS, sniff
from detectors.extract.walk import Walk
from detectors.extract.xmlparts import events, guarded, local, open_part

TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
PARAGRAPHS = frozenset({"p", "h"})
_MARGINS = {"header": "header", "header-first": "header", "header-left": "header",
            "footer": "footer", "footer-first": "footer", "footer-left": "footer"}


def paragraph_text(el: Element) -> str:
    """Text of a paragraph in document order; annotations are left out (they
    are reported as comments)."""
    out: list[str] = []

    def walk(e: Element) -> None:
        if e.text:
            out.append(e.text)
        for child in e:
            tag = local(child.tag)
            if tag == "s":
                out.append(" " * int(child.get(f"{{{TEXT}}}c", "1") or 1))
            elif tag == "tab":
                out.append("\t")
            elif tag == "line-break":
                out.append("\n")
            elif tag not in ("annotation", "annotation-end", "note-citation"):
                walk(child)
                if tag in PARAGRAPHS:
                    out.append("\n")
            if child.tail:
                out.append(child.tail)

    walk(el)
    return "".join(out)


def extract_odf(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    media = sniff(blob)
    zf, damaged = open_zip(blob, walk)
    with zf:
        if damaged:
            yield damaged
        for name in ("content.xml", "styles.xml"):
            if name in zf.NameToInfo:
                yield from guarded(_part(zf, name, walk, blob.display, media), blob.display, name, walk)


def _part(zf: zipfile.ZipFile, name: str, walk: Walk, display: str, media: str) -> Iterator[Segment]:
    with open_part(zf, name, walk) as f:
        yield from _content(f, walk, display, media, margins_only=name == "styles.xml")


def _content(f: object, walk: Walk, display: str, media: str, *, margins_only: bool = False) -> Iterator[Segment]:
    sinks: list[Chunker] = []  # innermost last
    owners: list[Element] = []  # the element whose start opened each sink
    default = None if margins_only else Chunker(walk.limits, path=display, media_type=media)
    open_paras = 0
    sheet: str | None = None
    row = col = 0
    cell: list[str] | None = None
    page = 0

    def sink() -> Chunker | None:
        return sinks[-1] if sinks else default

    def push(el: Element, **fields: object) -> None:
        sinks.append(Chunker(walk.limits, path=display, media_type=media, **fields))  # type: ignore[arg-type]
        owners.append(el)

    for ev, el in events(f):  # type: ignore[arg-type]
        tag = local(el.tag)
        if ev == "start":
            if tag in PARAGRAPHS:
                open_paras += 1
            elif tag in _MARGINS and margins_only:
                push(el, part=_MARGINS[tag])
            elif tag == "annotation":
                push(el, part="comment")
            elif tag == "page" and el.tag == f"{{{DRAW}}}page":
                page += 1
                push(el, part="slide", page=page)
            elif tag == "notes" and media == ODP:
                push(el, part="notes", page=page)
            elif tag == "table" and el.tag == f"{{{TABLE}}}table" and media == ODS:
                sheet = el.get(f"{{{TABLE}}}name", "")
                push(el, part="sheet", sheet=sheet)
                yield Segment(text=sheet, path=display, part="sheet-name", media_type=media)
                row = 0
            elif tag == "table-row" and sheet is not None:
                col = 0
            elif tag == "table-cell" and sheet is not None:
                cell = []
            continue
        # end events
        if tag in PARAGRAPHS:
            open_paras -= 1
            if open_paras == 0:
                text = paragraph_text(el)
                if owners and local(owners[-1].tag) == "annotation":
                    yield from sinks[-1].add(text + "\n")
                elif cell is not None:
                    cell.append(text)
                elif (s := sink()) is not None:
                    yield from s.add(text + "\n")
                el.clear()
        elif tag in ("table-cell", "covered-table-cell") and sheet is not None:
            repeat = int(el.get(f"{{{TABLE}}}number-columns-repeated", "1") or 1)
            text = "\n".join(cell or [])
            if text.strip() and (s := sink()) is not None:
                yield from s.add(text + "\t", anchor=f"{col_letters(col)}{row + 1}")
            col += min(repeat, 1 << 14)
            cell = None
            el.clear()
        elif tag == "table-row" and sheet is not None:
            if (s := sink()) is not None:
                yield from s.add("\n")
            row += min(int(el.get(f"{{{TABLE}}}number-rows-repeated", "1") or 1), 1 << 20)
            el.clear()
            if walk.budget.exhausted:
                break
        elif owners and owners[-1] is el:
            if tag == "annotation" and open_paras:  # inside a paragraph: its own were not emitted
                yield from sinks[-1].add("\n".join(paragraph_text(c) for c in el if local(c.tag) in PARAGRAPHS))
            owners.pop()
            yield from sinks.pop().finish()
            if tag == "table":
                sheet = None
            if tag != "annotation":
                el.clear()
    if default is not None:
        yield from default.finish()
