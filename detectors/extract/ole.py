"""Legacy Office (OLE compound files), best effort: Word 97-2003 text through
its piece table, Excel 97-2003 cells through xlrd, text runs of anything
else; and encrypted Office documents (any version) reported as such.

No maintained pure-Python reader of .doc exists (antiword/catdoc are C
programs), so the piece table is read here: FIB -> CLX -> pieces, each either
UTF-16LE or cp1252 ("compressed"). Character ranges after the main text hold
footnotes and then headers/footers, which become their own parts.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator

from leakwarden.errors import EncryptedContent

from detectors.extract.blob import Blob
from detectors.extract.chunks import Chunker, segments_of
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.sniff import DOC, OLE, XLS
from detectors.extract.walk import Walk

_MAX_STREAM = 64 << 20


def _open(blob: Blob):  # type: ignore[no-untyped-def]
    import olefile

    return olefile.OleFileIO(blob.file())


def encrypted_office(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    raise EncryptedContent("Office document is encrypted (EncryptedPackage)")
    yield  # pragma: no cover


def _read_stream(ole, name: str, walk: Walk) -> bytes:  # type: ignore[no-untyped-def]
    size = ole.get_size(name)
    if size > min(_MAX_STREAM, walk.limits.max_member_bytes):
        from leakwarden.errors import LimitExceeded

        raise LimitExceeded(f"OLE stream {name} of {size} bytes is too big")
    walk.budget.charge(size)
    return ole.openstream(name).read()


def _doc_text(word: bytes, table: bytes) -> tuple[str, int, int, int]:
    """(all text, ccpText, ccpFtn, ccpHdd) from the piece table."""
    ccp_text, ccp_ftn, ccp_hdd = struct.unpack_from("<iii", word, 0x004C)
    fc_clx, lcb_clx = struct.unpack_from("<II", word, 0x01A2)
    clx = table[fc_clx:fc_clx + lcb_clx]
    pos = 0
    while pos < len(clx) and clx[pos] == 0x01:  # Prc: formatting, skipped
        pos += 3 + struct.unpack_from("<H", clx, pos + 1)[0]
    if pos >= len(clx) or clx[pos] != 0x02:
        raise ValueError("no piece table")
    lcb = struct.unpack_from("<I", clx, pos + 1)[0]
    plc = clx[pos + 5:pos + 5 + lcb]
    n = (len(plc) - 4) // 12
    cps = struct.unpack_from(f"<{n + 1}I", plc, 0)
    out: list[str] = []
    for i in range(n):
        pcd = plc[4 * (n + 1) + 8 * i:4 * (n + 1) + 8 * i + 8]
        fc = struct.unpack_from("<I", pcd, 2)[0]
        count = cps[i + 1] - cps[i]
        if count <= 0 or count > len(word):
            continue
        if fc & 0x40000000:  # compressed: one cp1252 byte per character
            start = (fc & 0x3FFFFFFF) // 2
            out.append(word[start:start + count].decode("cp1252", "replace"))
        else:
            out.append(word[fc:fc + 2 * count].decode("utf-16-le", "replace"))
    return "".join(out), ccp_text, ccp_ftn, ccp_hdd


_FIELD = re.compile("\x13[^\x14\x15]*\x14?|\x15")  # field codes: keep only their results


def _clean(text: str) -> str:
    text = _FIELD.sub("", text)
    return text.replace("\r", "\n").replace("\x07", "\t").replace("\x0b", "\n").replace("\x0c", "\f")


def extract_doc(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    ole = _open(blob)
    try:
        word = _read_stream(ole, "WordDocument", walk)
        flags = struct.unpack_from("<H", word, 0x000A)[0]
        if flags & 0x0100:  # fEncrypted
            raise EncryptedContent("Word document is password-protected")
        table_name = "1Table" if flags & 0x0200 else "0Table"
        try:
            table = _read_stream(ole, table_name, walk)
            text, ccp_text, ccp_ftn, ccp_hdd = _doc_text(word, table)
        except (ValueError, struct.error, OSError):
            yield from _runs(blob, word, DOC, walk)
            return
        body = _clean(text[:ccp_text])
        yield from segments_of(body, walk.limits, path=blob.display, media_type=DOC)
        if ccp_ftn:
            note = _clean(text[ccp_text:ccp_text + ccp_ftn]).strip()
            if note:
                yield Segment(text=note, path=blob.display, part="footnote", media_type=DOC)
        if ccp_hdd:
            # Header and footer stories are not told apart without the PlcfHdd;
            # both are margins, which is what marking detection needs.
            margin = _clean(text[ccp_text + ccp_ftn:ccp_text + ccp_ftn + ccp_hdd]).strip()
            if margin:
                yield Segment(text=margin, path=blob.display, part="header", media_type=DOC)
    finally:
        ole.close()


def extract_xls(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    import xlrd

    data = blob.read_all()
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=_Null())
    except xlrd.XLRDError as e:
        if "encrypt" in str(e).lower():
            raise EncryptedContent("Excel workbook is password-protected") from e
        raise
    try:
        names = book.sheet_names()
        if names:
            yield Segment(text="\n".join(names), path=blob.display, part="sheet-name", media_type=XLS)
        for index, name in enumerate(names):
            walk.budget.check_time()
            sheet = book.sheet_by_index(index)
            ch = Chunker(walk.limits, path=blob.display, part="sheet", sheet=name, media_type=XLS)
            for r in range(sheet.nrows):
                row_has = False
                for c, cell in enumerate(sheet.row(r)):
                    text = _xls_cell(cell)
                    if text:
                        yield from ch.add("\t" if row_has else "")
                        yield from ch.add(text, anchor=f"{xlrd.colname(c)}{r + 1}")
                        row_has = True
                if row_has:
                    yield from ch.add("\n")
            yield from ch.finish()
            book.unload_sheet(index)
    finally:
        book.release_resources()


def _xls_cell(cell) -> str:  # type: ignore[no-untyped-def]
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    if cell.ctype == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer() and abs(cell.value) < 1e21:
        return str(int(cell.value))  # ID and phone numbers are stored as floats
    return str(cell.value)


class _Null:
    def write(self, s: str) -> int:
        return len(s)


_UTF16_RUN = re.compile(rb"(?:[\x20-\x7e\t\r\n]\x00|[\x00-\xff][\x4e-\x9f]|[\x00-\xff][\x30\xff]){4,}")
_ASCII_RUN = re.compile(rb"[\x20-\x7e\t\r\n]{6,}")


def _runs(blob: Blob, data: bytes, media: str, walk: Walk) -> Iterator[Segment]:
    """Readable text runs (UTF-16LE incl. CJK, and ASCII) from a binary stream."""
    found = [m.group().decode("utf-16-le", "replace") for m in _UTF16_RUN.finditer(data)]
    found += [m.group().decode("ascii") for m in _ASCII_RUN.finditer(data)]
    if found:
        yield from segments_of("\n".join(found), walk.limits, path=blob.display, media_type=media)


def extract_ole_text(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    """PowerPoint 97-2003 and other OLE files: text runs of every stream."""
    ole = _open(blob)
    try:
        for path in ole.listdir(streams=True, storages=False):
            name = "/".join(path)
            walk.budget.check_time()
            if ole.get_size(name) > min(_MAX_STREAM, walk.limits.max_member_bytes):
                yield Notice("container.limit_exceeded", blob.display, f"OLE stream {name} too big")
                continue
            yield from _runs(blob, _read_stream(ole, name, walk), OLE, walk)
    finally:
        ole.close()
