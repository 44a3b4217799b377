"""Generators of test documents, made with the real libraries that write each format."""

from __future__ import annotations

import io
import tarfile
import zipfile
from email.message import EmailMessage

ID = "110101199003077774"
PHONE = "13812345678"
CARD = "6222021234567890128"


def docx(body: str = f"身份证 {ID}", header: str = "机密★5年", footer: str = "内部资料 注意保存",
         comment: str | None = None, textbox: str | None = None, table: list[list[str]] | None = None) -> bytes:
    import docx as d

    doc = d.Document()
    sec = doc.sections[0]
    sec.header.paragraphs[0].text = header
    sec.footer.paragraphs[0].text = footer
    p = doc.add_paragraph(body)
    if comment:
        doc.add_comment(p.runs, text=comment, author="t")
    doc.add_paragraph("第二段 second paragraph")
    if table:
        t = doc.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, v in enumerate(row):
                t.cell(r, c).text = v
    out = io.BytesIO()
    doc.save(out)
    data = out.getvalue()
    if textbox:
        data = _add_textbox(data, textbox)
    return data


def _add_textbox(docx_bytes: bytes, text: str) -> bytes:
    """python-docx cannot make text boxes: insert a DrawingML one (with the
    VML fallback Word writes, which must not be read twice)."""
    box = (
        '<w:p><w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        '<mc:Choice Requires="wps"><w:drawing><wp:anchor xmlns:wp="http://schemas.openxmlformats.org/'
        'drawingml/2006/wordprocessingDrawing"><a:graphic xmlns:a="http://schemas.openxmlformats.org/'
        'drawingml/2006/main"><a:graphicData><wps:wsp xmlns:wps="http://schemas.microsoft.com/office/word/'
        f'2010/wordprocessingShape"><wps:txbx><w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p>'
        '</w:txbxContent></wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>'
        '</mc:Choice><mc:Fallback><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml"><v:textbox>'
        f'<w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape>'
        '</w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>'
    )
    return rewrite_zip(docx_bytes, {"word/document.xml": lambda x: x.replace(b"<w:body>", b"<w:body>" + box.encode())})


def rewrite_zip(data: bytes, changes: dict) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename in changes:
                content = changes[info.filename](content)
            dst.writestr(info.filename, content)
    return out.getvalue()


def xlsx(sheets: dict[str, list[list[object]]] | None = None, comment: tuple[str, str] | None = None,
         header: str | None = None, footer: str | None = None) -> bytes:
    import openpyxl
    from openpyxl.comments import Comment

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    sheets = sheets or {"客户": [["姓名", "身份证", "手机"], ["张三", ID, int(PHONE)]]}
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    if comment:
        ref, text = comment
        wb.worksheets[0][ref].comment = Comment(text, "t")
    if header:
        wb.worksheets[0].oddHeader.center.text = header
    if footer:
        wb.worksheets[0].oddFooter.right.text = footer
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def pptx(slides: list[tuple[str, str | None]]) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    for text, notes in slides:
        s = prs.slides.add_slide(prs.slide_layouts[6])
        tb = s.shapes.add_textbox(Inches(1), Inches(1), Inches(5), Inches(1))
        tb.text_frame.text = text
        if notes:
            s.notes_slide.notes_text_frame.text = notes
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def pdf(pages: list[str], *, user_password: str | None = None, owner_password: str | None = None) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    enc = None
    if user_password is not None or owner_password is not None:
        from reportlab.lib import pdfencrypt

        enc = pdfencrypt.StandardEncryption(user_password or "", ownerPassword=owner_password or "owner",
                                            strength=128)
    c = canvas.Canvas(out, pagesize=A4, encrypt=enc)
    for text in pages:
        y = 800
        for line in text.splitlines():
            c.drawString(72, y, line)
            y -= 16
        c.showPage()
    c.save()
    return out.getvalue()


def zip_of(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return out.getvalue()


def tar_of(members: dict[str, bytes], mode: str = "w") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


def sevenz_of(members: dict[str, bytes], password: str | None = None, tmp_path=None) -> bytes:
    import py7zr

    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w", password=password) as z:
        if password:
            z.set_encrypted_header(False)
        for name, data in members.items():
            z.writestr(data, name)
    return out.getvalue()


def eml(body: str, *, charset: str = "utf-8", html: str | None = None,
        attachments: dict[str, bytes] | None = None, subject: str = "报告") -> bytes:
    msg = EmailMessage()
    msg["From"] = "alice@example.com"
    msg["To"] = "bob@example.org"
    msg["Subject"] = subject
    msg.set_content(body, charset=charset)
    if html:
        msg.add_alternative(html, subtype="html")
    for name, data in (attachments or {}).items():
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'office:version="1.3"'
)


def odf(kind: str, body: str, styles_master: str = "") -> bytes:
    """An OpenDocument package as LibreOffice lays it out (no ODF writer is
    installed): stored mimetype first, content.xml, styles.xml, manifest."""
    mime = f"application/vnd.oasis.opendocument.{kind}"
    content = f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}><office:body>{body}</office:body></office:document-content>'
    styles = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {_ODF_NS}><office:master-styles>'
              f'{styles_master}</office:master-styles></office:document-styles>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                f'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="{mime}"/>'
                '</manifest:manifest>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), mime, compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("styles.xml", styles, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xls(rows: list[list[object]], sheet: str = "名单") -> bytes:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet(sheet)
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def ole_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file (CFB v3), written here because no library
    on PyPI writes them; streams are padded past the 4096-byte mini-stream
    cutoff so only the regular FAT is needed."""
    import struct

    sec = 512
    end, free, fatsect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    datas = [streams[n] + b"\x00" * max(0, 4096 - len(streams[n])) for n in names]
    sizes = [len(d) for d in datas]
    data_secs = [-(-len(d) // sec) for d in datas]
    n_dir = -(-(len(names) + 1) // 4)
    n_data = sum(data_secs)
    n_fat = 1
    while (n_data + n_dir + n_fat) > n_fat * 128:
        n_fat += 1
    fat: list[int] = []
    starts = []
    for count in data_secs:
        starts.append(len(fat))
        fat += [len(fat) + i + 1 for i in range(count - 1)] + [end]
    dir_start = len(fat)
    fat += [len(fat) + i + 1 for i in range(n_dir - 1)] + [end]
    fat_start = len(fat)
    fat += [fatsect] * n_fat
    fat += [free] * (n_fat * 128 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        return struct.pack("<64sHBBIII16sIQQIII", raw, len(raw), kind, 1, free, right, child, b"", 0, 0, 0,
                           start, size, 0)

    entries = [entry("Root Entry", 5, 1 if names else free, free, end, 0)]
    for i, n in enumerate(names):
        entries.append(entry(n, 2, free, i + 2 if i + 1 < len(names) else free, starts[i], sizes[i]))
    directory = b"".join(entries)
    directory += b"\x00" * (n_dir * sec - len(directory))
    # unused directory slots must be typed "empty" with NOSTREAM links
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"", 0x3E, 3, 0xFFFE, 9, 6,
                         b"", 0, n_fat, dir_start, 0, 4096, end, 0, end, 0)
    difat = [fat_start + i for i in range(n_fat)] + [free] * (109 - n_fat)
    header += struct.pack("<109I", *difat)
    body = b"".join(d + b"\x00" * (count * sec - len(d)) for d, count in zip(datas, data_secs))
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    return header + body + directory + fat_bytes


def doc(body: str, header: str = "", *, encrypted: bool = False) -> bytes:
    """A Word 97 binary document: FIB + piece table in 1Table, UTF-16 text."""
    import struct

    text = body + header
    word = bytearray(2048)
    struct.pack_into("<HH", word, 0, 0xA5EC, 0x00C1)
    struct.pack_into("<H", word, 0x0A, 0x0200 | (0x0100 if encrypted else 0))
    struct.pack_into("<iii", word, 0x4C, len(body), 0, len(header))
    word += text.encode("utf-16-le")
    plc = struct.pack("<II", 0, len(text)) + struct.pack("<HIH", 0, 2048, 0)
    clx = b"\x02" + struct.pack("<I", len(plc)) + plc
    struct.pack_into("<II", word, 0x01A2, 0, len(clx))
    return ole_file({"WordDocument": bytes(word), "1Table": clx})


def _deflate_repeated(block: bytes, times: int) -> bytes:
    """A raw deflate stream of ``block * times`` built without compressing it
    all: after a full flush a block's encoding does not depend on what came
    before, so the compressed block can simply be repeated."""
    import zlib

    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    return piece * times + tail.flush(zlib.Z_FINISH)


def zip_bomb(size: int = 4 << 30, *, name: str = "zeros.bin", block: bytes = b"\x00" * (1 << 20),
             declared: int | None = None) -> bytes:
    """One deflated member of ``size`` expanded bytes (4 GiB of zeros by default)
    in a few MB. ``declared`` lets the header lie about the expanded size. The
    CRC is left 0: an extractor that reads it all fails anyway."""
    import struct

    data = _deflate_repeated(block, size // len(block))
    usize = size if declared is None else declared
    zip64 = usize >= 0xFFFFFFFF
    extra = struct.pack("<HHQQ", 1, 16, usize, len(data)) if zip64 else b""
    u32, c32 = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (usize, len(data))
    fname = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0x21, 0, c32, u32, len(fname), len(extra))
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 0x21, 0, c32, u32, len(fname),
                          len(extra), 0, 0, 0, 0, 0)
    body = local + fname + extra + data
    cd = central + fname + extra
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), len(body), 0)
    return body + cd + eocd


def gzip_bomb(size: int = 4 << 30, block: bytes = b"13812345678 filler line of text\n" * 32768) -> bytes:
    """A gzip stream of ``size`` bytes of text, built the same way (CRC left 0)."""
    import struct

    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + _deflate_repeated(block, size // len(block)) + struct.pack("<II", 0, size & 0xFFFFFFFF)


def nested_zip(levels: int, text: bytes = b"deep secret 13812345678") -> bytes:
    data = zip_of({"core.txt": text})
    for i in range(levels - 1, 0, -1):
        data = zip_of({f"level{i}.zip": data})
    return data


def set_zip_encrypted_flag(data: bytes) -> bytes:
    """Mark every member as traditionally encrypted (general purpose flag bit 0)
    in local and central headers: the stdlib cannot write password ZIPs, and
    the flag is exactly what tells an extractor a password is needed."""
    out = bytearray(data)
    for sig, flag_off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = out.find(sig)
        while pos >= 0:
            out[pos + flag_off] |= 0x01
            pos = out.find(sig, pos + 4)
    return bytes(out)
