"""DOCX, XLSX and PPTX, read with a streaming parser straight from the ZIP parts.

python-docx/openpyxl/python-pptx build a full object model (and openpyxl
skips headers, comments and text boxes unless asked); a single iterparse pass
per part is several times faster and sees every part we care about:
body, headers, footers, footnotes, comments, text boxes, tracked deletions,
sheet names, shared strings, inline strings, slide notes, and embedded
documents (``a.docx!word/embeddings/x.xlsx``).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

from detectors.extract.blob import Blob
from detectors.extract.chunks import Chunker
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.sniff import DOCX, PPTX, XLSX
from detectors.extract.xmlparts import events, guarded, local, natural_key, open_part, rels
from detectors.extract.walk import Walk

Item = Segment | Notice

_EMBEDDED = re.compile(r"^(word|xl|ppt)/embeddings/[^/]+$")


def _embedded(zf: zipfile.ZipFile, blob: Blob, walk: Walk) -> Iterator[Item]:
    from detectors.extract.archive import extract_zip_members

    names = [n for n in zf.namelist() if _EMBEDDED.match(n)]
    if names:
        yield from extract_zip_members(zf, blob, walk, names)


# ---------------------------------------------------------------- DOCX

_DOCX_PARTS = (
    (re.compile(r"^word/header\d*\.xml$"), "header"),
    (re.compile(r"^word/footer\d*\.xml$"), "footer"),
    (re.compile(r"^word/footnotes\.xml$"), "footnote"),
    (re.compile(r"^word/endnotes\.xml$"), "endnote"),
    (re.compile(r"^word/comments\.xml$"), "comment"),
)


def _word_part(zf: zipfile.ZipFile, name: str, walk: Walk, display: str, part: str,
               media: str) -> Iterator[Segment]:
    """One WordprocessingML part: paragraphs in order; text boxes separately."""
    with open_part(zf, name, walk) as f:
        yield from _word_events(f, walk, display, part, media)


def _word_events(f: object, walk: Walk, display: str, part: str, media: str) -> Iterator[Segment]:
    body = Chunker(walk.limits, path=display, part=part, media_type=media)
    boxes: list[list[str]] = []  # open text boxes (they nest)
    skip = 0  # inside mc:Fallback: the same content again, for old readers
    depth = 0
    container = None  # w:body (or the part's root): its finished children are dropped
    container_depth = -1
    for ev, el in events(f):  # type: ignore[arg-type]
        tag = local(el.tag)
        if ev == "start":
            depth += 1
            if tag == "Fallback":
                skip += 1
            elif tag == "txbxContent" and not skip:
                boxes.append([])
            elif tag == "body" or depth == 1:
                container, container_depth = el, depth
            continue
        depth -= 1
        if tag == "Fallback":
            skip -= 1
            continue
        if skip:
            continue
        out: str | None = None
        if tag in ("t", "delText") and el.text:
            out = el.text
        elif tag == "tab":
            out = "\t"
        elif tag in ("br", "cr"):
            out = "\f" if el.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}type") == "page" else "\n"
        elif tag == "p":
            out = "\n"
        elif tag == "txbxContent" and boxes:
            text = "".join(boxes.pop()).strip()
            if text:
                yield Segment(text=text, path=display, part="textbox", media_type=media)
            continue
        if out is not None:
            if boxes:
                boxes[-1].append(out)
            else:
                yield from body.add(out)
        if depth == container_depth and container is not None:
            container.clear()  # a finished paragraph or table: nothing more to read in it
        if walk.budget.exhausted:
            break
    yield from body.finish()


def extract_docx(blob: Blob, walk: Walk) -> Iterator[Item]:
    with zipfile.ZipFile(blob.file()) as zf:
        names = zf.namelist()
        order: list[tuple[str, str]] = [("word/document.xml", "body")]
        for pattern, part in _DOCX_PARTS:
            order += [(n, part) for n in sorted((n for n in names if pattern.match(n)), key=natural_key)]
        for name, part in order:
            if name not in zf.NameToInfo:
                continue
            yield from guarded(_word_part(zf, name, walk, blob.display, part, DOCX), blob.display, name)
        yield from _embedded(zf, blob, walk)


# ---------------------------------------------------------------- XLSX

def _col_letters(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _shared_strings(zf: zipfile.ZipFile, walk: Walk) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.NameToInfo:
        return []
    out: list[str] = []
    parts: list[str] = []
    phonetic = 0
    with open_part(zf, "xl/sharedStrings.xml", walk) as f:
        for ev, el in events(f):
            tag = local(el.tag)
            if tag == "rPh":  # phonetic guide (furigana): not part of the value
                phonetic += 1 if ev == "start" else -1
            elif ev == "end" and tag == "t" and not phonetic:
                parts.append(el.text or "")
            elif ev == "end" and tag == "si":
                out.append("".join(parts))
                parts = []
                el.clear()
    return out


def _sheet(zf: zipfile.ZipFile, name: str, walk: Walk, display: str, sheet: str,
           shared: list[str]) -> Iterator[Segment]:
    with open_part(zf, name, walk) as f:
        yield from _sheet_events(f, walk, display, sheet, shared)


def _sheet_events(f: object, walk: Walk, display: str, sheet: str, shared: list[str]) -> Iterator[Segment]:
    ch = Chunker(walk.limits, path=display, part="sheet", sheet=sheet, media_type=XLSX)
    ref = kind = None
    value: str | None = None
    inline: list[str] = []
    row_has = False
    col = 0
    for ev, el in events(f):  # type: ignore[arg-type]
        tag = local(el.tag)
        if ev == "start":
            if tag == "c":
                ref, kind, value, inline = el.get("r"), el.get("t"), None, []
            continue
        if tag == "v":
            value = el.text
        elif tag == "t":
            inline.append(el.text or "")
        elif tag == "c":
            text = _cell_text(kind, value, inline, shared)
            if text:
                label = ref or f"{_col_letters(col)}?"
                yield from ch.add("\t" if row_has else "")
                yield from ch.add(text, anchor=label)
                row_has = True
            col += 1
            el.clear()
        elif tag == "row":
            if row_has:
                yield from ch.add("\n")
            row_has, col = False, 0
            el.clear()
            if walk.budget.exhausted:
                break
    yield from ch.finish()


def _cell_text(kind: str | None, value: str | None, inline: list[str], shared: list[str]) -> str:
    if kind == "s":
        try:
            return shared[int(value or "")]
        except (ValueError, IndexError):
            return ""
    if kind == "inlineStr":
        return "".join(inline)
    if kind == "b":
        return "TRUE" if value == "1" else "FALSE" if value == "0" else value or ""
    return value or ""


def extract_xlsx(blob: Blob, walk: Walk) -> Iterator[Item]:
    with zipfile.ZipFile(blob.file()) as zf:
        shared = _shared_strings(zf, walk)
        targets = rels(zf, "xl/workbook.xml", walk)
        sheets: list[tuple[str, str]] = []
        with open_part(zf, "xl/workbook.xml", walk) as f:
            for _, el in events(f, ("end",)):
                if local(el.tag) == "sheet":
                    rid = next((v for k, v in el.attrib.items() if local(k) == "id"), None)
                    target = targets.get(rid or "")
                    sheets.append((el.get("name", ""), target or ""))
        names = [n for _, n in sheets if n]
        if sheets:
            yield Segment(text="\n".join(s for s, _ in sheets), path=blob.display, part="sheet-name",
                          media_type=XLSX)
        for sheet, target in sheets:
            if target in zf.NameToInfo:
                yield from guarded(_sheet(zf, target, walk, blob.display, sheet, shared), blob.display, target)
        # comments, drawings (text boxes, chart titles) and sheets the workbook does not list
        for name in sorted(zf.namelist(), key=natural_key):
            if re.match(r"^xl/(comments\d*\.xml|comments/.+\.xml|threadedComments/.+\.xml)$", name):
                items = _all_text(zf, name, walk, blob.display, "comment", XLSX)
            elif re.match(r"^xl/drawings/drawing\d+\.xml$", name):
                items = _all_text(zf, name, walk, blob.display, "textbox", XLSX)
            elif re.match(r"^xl/worksheets/sheet\d+\.xml$", name) and name not in names:
                items = _sheet(zf, name, walk, blob.display, name.rsplit("/", 1)[-1], shared)
            else:
                continue
            yield from guarded(items, blob.display, name)
        yield from _embedded(zf, blob, walk)


def _all_text(zf: zipfile.ZipFile, name: str, walk: Walk, display: str, part: str, media: str,
              page: int | None = None) -> Iterator[Segment]:
    """Every a:t / t / text run of a part, paragraphs on their own lines."""
    ch = Chunker(walk.limits, path=display, part=part, page=page, media_type=media)
    with open_part(zf, name, walk) as f:
        for ev, el in events(f, ("end",)):
            tag = local(el.tag)
            if tag in ("t", "text") and el.text:
                yield from ch.add(el.text)
            elif tag in ("p", "si", "comment", "threadedComment"):
                yield from ch.add("\n")
                el.clear()
            elif tag in ("br", "tab"):
                yield from ch.add("\n" if tag == "br" else "\t")
    yield from ch.finish()


# ---------------------------------------------------------------- PPTX

def extract_pptx(blob: Blob, walk: Walk) -> Iterator[Item]:
    with zipfile.ZipFile(blob.file()) as zf:
        pres = rels(zf, "ppt/presentation.xml", walk)
        order: list[str] = []
        if "ppt/presentation.xml" in zf.NameToInfo:
            with open_part(zf, "ppt/presentation.xml", walk) as f:
                for _, el in events(f, ("end",)):
                    if local(el.tag) == "sldId":
                        rid = next((v for k, v in el.attrib.items() if local(k) == "id" and k.startswith("{")), None)
                        if rid and pres.get(rid) in zf.NameToInfo:
                            order.append(pres[rid])
        slides = sorted((n for n in zf.namelist() if re.match(r"^ppt/slides/slide\d+\.xml$", n)), key=natural_key)
        order += [n for n in slides if n not in order]
        for number, slide in enumerate(order, 1):
            if walk.budget.exhausted:
                return
            yield from guarded(_all_text(zf, slide, walk, blob.display, "slide", PPTX, page=number),
                               blob.display, slide)
            for target in rels(zf, slide, walk).values():
                if target.startswith("ppt/notesSlides/") and target in zf.NameToInfo:
                    yield from guarded(_all_text(zf, target, walk, blob.display, "notes", PPTX, page=number),
                                       blob.display, target)
        for name in sorted(zf.namelist(), key=natural_key):
            if re.match(r"^ppt/comments/.+\.xml$", name):
                yield from guarded(_all_text(zf, name, walk, blob.display, "comment", PPTX), blob.display, name)
        yield from _embedded(zf, blob, walk)

