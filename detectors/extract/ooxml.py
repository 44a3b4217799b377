"""DOCX, XLSX and PPTX, read with expat callbacks straight from the ZIP parts.

python-docx/openpyxl/python-pptx build a full object model (and skip text
boxes, comments, tracked deletions unless asked); one expat pass per part is
faster (bench/extract_bench.py) and sees every part we care about: body,
headers, footers, footnotes, comments, text boxes, tracked deletions, sheet
names, shared and inline strings, slide notes, and embedded documents
(``a.docx!word/embeddings/x.xlsx``).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

from detectors.extract.archive import extract_zip_members, open_zip
from detectors.extract.blob import Blob
from detectors.extract.chunks import Chunker, drain
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.sniff import DOCX, PPTX, XLSX
from detectors.extract.walk import Walk
from detectors.extract.xmlparts import events, guarded, local, natural_key, open_part, rels, sax

Item = Segment | Notice
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_EMBEDDED = re.compile(r"^(word|xl|ppt)/embeddings/[^/]+$")


def _embedded(zf: zipfile.ZipFile, blob: Blob, walk: Walk) -> Iterator[Item]:
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


def _word_part(zf: zipfile.ZipFile, name: str, walk: Walk, display: str, part: str) -> Iterator[Segment]:
    """One WordprocessingML part: paragraphs in order; each text box apart."""
    body = Chunker(walk.limits, path=display, part=part, media_type=DOCX)
    pending: list[tuple[str, str | None]] = []
    boxes: list[list[str]] = []  # open text boxes (they nest)
    done_boxes: list[str] = []
    state = {"skip": 0, "text": False}  # skip: inside mc:Fallback (the same content again)

    def emit(s: str) -> None:
        if boxes:
            boxes[-1].append(s)
        else:
            pending.append((s, None))

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = local(name)
        if tag == "Fallback":
            state["skip"] += 1
        elif state["skip"]:
            return
        elif tag in ("t", "delText"):
            state["text"] = True
        elif tag == "tab":
            emit("\t")
        elif tag in ("br", "cr"):
            emit("\f" if attrs.get(W + "type") == "page" else "\n")
        elif tag == "txbxContent":
            boxes.append([])

    def end(name: str) -> None:
        tag = local(name)
        if tag == "Fallback":
            state["skip"] -= 1
        elif state["skip"]:
            return
        elif tag in ("t", "delText"):
            state["text"] = False
        elif tag == "p":
            emit("\n")
        elif tag == "txbxContent" and boxes:
            done_boxes.append("".join(boxes.pop()).strip())

    def data(s: str) -> None:
        if state["text"] and not state["skip"]:
            emit(s)

    def boxes_out() -> Iterator[Segment]:
        for text in done_boxes:
            if text:
                yield Segment(text=text, path=display, part="textbox", media_type=DOCX)
        done_boxes.clear()

    with open_part(zf, name, walk) as f:
        yield from drain(body, pending, sax(f, walk, start=start, end=end, data=data), boxes_out)


def extract_docx(blob: Blob, walk: Walk) -> Iterator[Item]:
    zf, damaged = open_zip(blob, walk)
    with zf:
        if damaged:
            yield damaged
        names = zf.namelist()
        order: list[tuple[str, str]] = [("word/document.xml", "body")]
        for pattern, part in _DOCX_PARTS:
            order += [(n, part) for n in sorted((n for n in names if pattern.match(n)), key=natural_key)]
        for name, part in order:
            if name in zf.NameToInfo:
                yield from guarded(_word_part(zf, name, walk, blob.display, part), blob.display, name, walk)
        yield from _embedded(zf, blob, walk)


# ---------------------------------------------------------------- XLSX

def col_letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


#: characters of shared strings kept in memory (a hostile table could hold
#: 256 MiB of text, a Python list of it far more)
SHARED_STRINGS_MAX_CHARS = 32 << 20


def _shared_strings(zf: zipfile.ZipFile, walk: Walk) -> tuple[list[str], bool]:
    """The shared string table, and whether it was cut at SHARED_STRINGS_MAX_CHARS."""
    if "xl/sharedStrings.xml" not in zf.NameToInfo:
        return [], False
    out: list[str] = []
    parts: list[str] = []
    phonetic = 0
    inside = False
    total = 0
    codes: dict[str, str] = {}

    def code(name: str) -> str:
        c = codes.get(name)
        if c is None:
            c = codes[name] = local(name)
        return c

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal phonetic, inside
        tag = code(name)
        if tag == "rPh":  # phonetic guide (furigana): not part of the value
            phonetic += 1
        elif tag == "t" and not phonetic:
            inside = True

    def end(name: str) -> None:
        nonlocal phonetic, inside, total
        tag = code(name)
        if tag == "rPh":
            phonetic -= 1
        elif tag == "t":
            inside = False
        elif tag == "si":
            text = "".join(parts)
            total += len(text)
            out.append(text)
            parts.clear()

    def data(s: str) -> None:
        if inside:
            parts.append(s)

    with open_part(zf, "xl/sharedStrings.xml", walk) as f:
        for _ in sax(f, walk, start=start, end=end, data=data):
            if total > SHARED_STRINGS_MAX_CHARS:
                return out, True
    return out, False


_C, _V, _T, _RPH, _ROW, _HEAD, _FOOT = 1, 2, 2, 3, 4, 5, 6
_SHEET_CODES = {"c": _C, "v": _V, "t": _T, "rPh": _RPH, "row": _ROW,
                "oddHeader": _HEAD, "evenHeader": _HEAD, "firstHeader": _HEAD,
                "oddFooter": _FOOT, "evenFooter": _FOOT, "firstFooter": _FOOT}
#: print header/footer format codes: &L &C &R sections, &P page, &"font", &12 size
_HF_CODES = re.compile(r'&"[^"]*"|&\d+|&[A-Za-z]')


def _header_footer_text(raw: str) -> str:
    return _HF_CODES.sub(" ", raw.replace("&&", "\x00")).replace("\x00", "&").strip()


def _sheet(zf: zipfile.ZipFile, name: str, walk: Walk, display: str, sheet: str,
           shared: list[str]) -> Iterator[Segment]:
    # The hottest loop of office extraction: closures over plain locals and a
    # per-name code cache instead of attribute lookups and string slicing.
    ch = Chunker(walk.limits, path=display, part="sheet", sheet=sheet, media_type=XLSX)
    pending: list[tuple[str, str | None]] = []
    add = pending.append
    value: list[str] = []
    codes: dict[str, int] = {}
    ref: str | None = None
    kind: str | None = None
    inside = row_has = in_margin = False
    col = 0
    margin: list[str] = []  # text of the print header/footer being read
    margins: list[Segment] = []

    def code(name: str) -> int:
        c = codes.get(name)
        if c is None:
            c = codes[name] = _SHEET_CODES.get(local(name), -1)  # -1, not 0: cached misses stay truthy
        return c

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal ref, kind, inside, in_margin
        c = codes.get(name) or code(name)
        if c == _C:
            ref, kind = attrs.get("r"), attrs.get("t")
            value.clear()
        elif c == _V:
            inside = True
        elif c == _RPH:
            inside = False
        elif c in (_HEAD, _FOOT):
            margin.clear()
            in_margin = True

    def end(name: str) -> None:
        nonlocal inside, row_has, col, in_margin
        c = codes.get(name) or code(name)
        if c == _V:
            inside = False
        elif c in (_HEAD, _FOOT):
            text = _header_footer_text("".join(margin))
            margin.clear()
            in_margin = False
            if text:
                margins.append(Segment(text=text, path=display, part="header" if c == _HEAD else "footer",
                                       sheet=sheet, media_type=XLSX))
        elif c == _C:
            text = _cell_text(kind, "".join(value), shared)
            if text:
                if row_has:
                    add(("\t", None))
                add((text, ref or f"{col_letters(col)}?"))
                row_has = True
            col += 1
        elif c == _ROW:
            if row_has:
                add(("\n", None))
            row_has, col = False, 0

    def data(s: str) -> None:
        if inside:
            value.append(s)
        elif in_margin:
            margin.append(s)

    def margins_out() -> Iterator[Segment]:
        yield from margins
        margins.clear()

    with open_part(zf, name, walk) as f:
        yield from drain(ch, pending, sax(f, walk, start=start, end=end, data=data), margins_out)


def _cell_text(kind: str | None, value: str, shared: list[str]) -> str:
    if kind == "s":
        try:
            return shared[int(value)]
        except (ValueError, IndexError):
            return ""
    if kind == "b":
        return {"1": "TRUE", "0": "FALSE"}.get(value, value)
    return value


def extract_xlsx(blob: Blob, walk: Walk) -> Iterator[Item]:
    zf, damaged = open_zip(blob, walk)
    with zf:
        if damaged:
            yield damaged
        shared, cut = _shared_strings(zf, walk)
        if cut:
            yield Notice("container.limit_exceeded", blob.display,
                         f"shared strings over {SHARED_STRINGS_MAX_CHARS} characters; later strings not read",
                         {"limit": "shared_strings"})
        targets = rels(zf, "xl/workbook.xml", walk)
        sheets: list[tuple[str, str]] = []
        if "xl/workbook.xml" in zf.NameToInfo:  # gone from a truncated file: sheets are still read below
            with open_part(zf, "xl/workbook.xml", walk) as f:
                for _, el in events(f, ("end",)):
                    if local(el.tag) == "sheet":
                        rid = next((v for k, v in el.attrib.items() if local(k) == "id"), None)
                        sheets.append((el.get("name", ""), targets.get(rid or "", "")))
        listed = {target for _, target in sheets}
        if sheets:
            yield Segment(text="\n".join(s for s, _ in sheets), path=blob.display, part="sheet-name",
                          media_type=XLSX)
        for sheet, target in sheets:
            if target in zf.NameToInfo:
                yield from guarded(_sheet(zf, target, walk, blob.display, sheet, shared), blob.display, target, walk)
        # comments, drawings (text boxes, chart titles), sheets the workbook does not list
        for name in sorted(zf.namelist(), key=natural_key):
            if re.match(r"^xl/(comments\d*\.xml|comments/.+\.xml|threadedComments/.+\.xml)$", name):
                items = _all_text(zf, name, walk, blob.display, "comment", XLSX)
            elif re.match(r"^xl/drawings/drawing\d+\.xml$", name):
                items = _all_text(zf, name, walk, blob.display, "textbox", XLSX)
            elif re.match(r"^xl/worksheets/sheet\d+\.xml$", name) and name not in listed:
                items = _sheet(zf, name, walk, blob.display, name.rsplit("/", 1)[-1], shared)
            else:
                continue
            yield from guarded(items, blob.display, name, walk)
        yield from _embedded(zf, blob, walk)


_TEXT_TAGS = frozenset({"t", "text"})
_LINE_ENDS = frozenset({"p", "si", "comment", "threadedComment", "br"})


def _all_text(zf: zipfile.ZipFile, name: str, walk: Walk, display: str, part: str, media: str,
              page: int | None = None) -> Iterator[Segment]:
    """Every a:t / t / text run of a part, paragraphs on their own lines."""
    ch = Chunker(walk.limits, path=display, part=part, page=page, media_type=media)
    pending: list[tuple[str, str | None]] = []
    state = {"text": 0}

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = local(name)
        if tag in _TEXT_TAGS:
            state["text"] += 1
        elif tag == "tab":
            pending.append(("\t", None))

    def end(name: str) -> None:
        tag = local(name)
        if tag in _TEXT_TAGS:
            state["text"] -= 1
        elif tag in _LINE_ENDS:
            pending.append(("\n", None))

    def data(s: str) -> None:
        if state["text"]:
            pending.append((s, None))

    with open_part(zf, name, walk) as f:
        yield from drain(ch, pending, sax(f, walk, start=start, end=end, data=data))


# ---------------------------------------------------------------- PPTX

def extract_pptx(blob: Blob, walk: Walk) -> Iterator[Item]:
    zf, damaged = open_zip(blob, walk)
    with zf:
        if damaged:
            yield damaged
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
                               blob.display, slide, walk)
            for target in rels(zf, slide, walk).values():
                if target.startswith("ppt/notesSlides/") and target in zf.NameToInfo:
                    yield from guarded(_all_text(zf, target, walk, blob.display, "notes", PPTX, page=number),
                                       blob.display, target, walk)
        for name in sorted(zf.namelist(), key=natural_key):
            if re.match(r"^ppt/comments/.+\.xml$", name):
                yield from guarded(_all_text(zf, name, walk, blob.display, "comment", PPTX), blob.display, name, walk)
        yield from _embedded(zf, blob, walk)
