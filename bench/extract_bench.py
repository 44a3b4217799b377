#!/usr/bin/env python3
"""Content extraction: throughput next to the obvious alternative library for
each format, and peak memory over a set of hostile files.

Usage: .venv/bin/python bench/extract_bench.py [--scale 1.0] [--repeat 3] [--skip-hostile]

Throughput (MB of input file per second, best of --repeat runs, one process):
  * DOCX: LeakWarden's streaming OOXML reader vs python-docx (paragraphs,
    tables, headers and footers: less than LeakWarden reads);
  * XLSX: LeakWarden vs openpyxl in read-only mode (cell values only);
  * PDF: LeakWarden (pypdf underneath) vs pypdf, pdfminer.six and pypdfium2
    (PDFium, C++) directly.
Each row also prints the characters of text each produced, so a "fast"
reader that reads less shows it.

Peak RSS: every hostile file is extracted with the default limits in its own
fresh interpreter, and the child's VmHWM is reported (goal < 300 MB each).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "extract"))

import makers  # noqa: E402  (the test suite's document generators)

from detectors.extract import Segment, extract_bytes  # noqa: E402

ZH = ["请各部门于本月底前报送年度工作总结。", "本周五下午三点在三楼会议室召开部门例会，请准时参加。",
      "客户资料如下，请妥善保管。", "社区将于周末组织志愿者开展环境卫生整治活动。"]
EN = ["The vendor confirmed delivery of the quarterly report.", "Please review the attached contract.",
      "Meeting notes for the infrastructure migration project."]


_HANZI = "".join(dict.fromkeys("".join(ZH)))
_WORDS = " ".join(EN).split()


def _line(rnd: random.Random) -> str:
    """Varied text (random characters and words), so documents compress like
    real ones instead of a few repeated sentences."""
    zh = "".join(rnd.choice(_HANZI) for _ in range(rnd.randint(10, 30)))
    en = " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(4, 12)))
    parts = [zh, en, str(rnd.randint(0, 10**9))]
    if rnd.random() < 0.1:
        parts.append(f"身份证 {makers.ID} 电话 {makers.PHONE}")
    return " ".join(parts)


def make_docx(paragraphs: int) -> bytes:
    """python-docx makes the package (header included); the body paragraphs
    are written as XML because python-docx's add_paragraph slows down
    quadratically on long documents."""
    from xml.sax.saxutils import escape

    rnd = random.Random(1)
    body = []
    for i in range(paragraphs):
        body.append(f"<w:p><w:r><w:t xml:space=\"preserve\">{escape(_line(rnd))}</w:t></w:r></w:p>")
        if i % 500 == 0:
            cells = "".join(f"<w:tc><w:p><w:r><w:t>{c} {makers.PHONE}</w:t></w:r></w:p></w:tc>" for c in range(4))
            body.append(f"<w:tbl>{('<w:tr>' + cells + '</w:tr>') * 5}</w:tbl>")
    xml = "".join(body).encode()
    return makers.rewrite_zip(makers.docx(body="start", header="机密★5年"),
                              {"word/document.xml": lambda x: x.replace(b"<w:body>", b"<w:body>" + xml, 1)})


def make_xlsx(rows: int) -> bytes:
    import openpyxl

    rnd = random.Random(2)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("客户")
    for i in range(rows):
        ws.append([f"姓名{i}", makers.ID, int(makers.PHONE), _line(rnd)[:40], rnd.randint(0, 10**6)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def make_pdf(pages: int) -> bytes:
    rnd = random.Random(3)
    # reportlab's base fonts have no CJK glyphs: ASCII lines
    return makers.pdf(["\n".join(f"{j} " + " ".join(rnd.choice(_WORDS) for _ in range(12)) + f" {makers.PHONE}"
                                 for j in range(45)) for _ in range(pages)])


# ---------------------------------------------------------------- readers

def lw(data: bytes, name: str) -> int:
    return sum(len(s.text) - s.count_from for s in extract_bytes(data, name) if isinstance(s, Segment))


def python_docx(data: bytes) -> int:
    import docx

    d = docx.Document(io.BytesIO(data))
    n = sum(len(p.text) for p in d.paragraphs)
    n += sum(len(c.text) for t in d.tables for row in t.rows for c in row.cells)
    for s in d.sections:
        n += sum(len(p.text) for p in s.header.paragraphs) + sum(len(p.text) for p in s.footer.paragraphs)
    return n


def openpyxl_ro(data: bytes) -> int:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            n += sum(len(str(v)) for v in row if v is not None)
    wb.close()
    return n


def pypdf_text(data: bytes) -> int:
    from pypdf import PdfReader

    return sum(len(p.extract_text() or "") for p in PdfReader(io.BytesIO(data)).pages)


def pdfminer_text(data: bytes) -> int:
    from pdfminer.high_level import extract_text

    return len(extract_text(io.BytesIO(data)))


def pdfium_text(data: bytes) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    n = 0
    for i in range(len(pdf)):
        page = pdf[i]
        tp = page.get_textpage()
        n += len(tp.get_text_range())
        tp.close()
        page.close()
    pdf.close()
    return n


def best_of(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    times, chars = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        chars = fn()
        times.append(time.perf_counter() - t0)
    return min(times), chars


def throughput(scale: float, repeat: int) -> None:
    docs = {
        "DOCX": (make_docx(int(20000 * scale)), "bench.docx",
                 [("python-docx", python_docx)]),
        "XLSX": (make_xlsx(int(60000 * scale)), "bench.xlsx",
                 [("openpyxl read-only", openpyxl_ro)]),
        "PDF": (make_pdf(int(150 * scale)), "bench.pdf",
                [("pypdf", pypdf_text), ("pdfminer.six", pdfminer_text), ("pypdfium2", pdfium_text)]),
    }
    print(f"{'format':6} {'reader':22} {'file MB':>8} {'seconds':>8} {'file MB/s':>9} {'text MB/s':>9} {'chars':>10}")
    for fmt, (data, name, others) in docs.items():
        mb = len(data) / 1e6
        # text MB: UTF-8 size of what LeakWarden extracts (the others extract about as much, see chars)
        text_mb = sum(len(s.text[s.count_from:].encode()) for s in extract_bytes(data, name)
                      if isinstance(s, Segment)) / 1e6
        rows = [("LeakWarden", lambda d=data, n=name: lw(d, n))]
        for label, fn in others:
            try:
                __import__({"pdfminer.six": "pdfminer", "pypdfium2": "pypdfium2"}.get(label, "os"))
            except ImportError:
                print(f"{fmt:6} {label:22} (not installed: .venv/bin/pip install -e '.[bench]')")
                continue
            rows.append((label, lambda d=data, f=fn: f(d)))
        for label, fn in rows:
            secs, chars = best_of(fn, repeat)
            print(f"{fmt:6} {label:22} {mb:8.2f} {secs:8.3f} {mb / secs:9.2f} {text_mb / secs:9.2f} {chars:10d}")


# ---------------------------------------------------------------- hostile set

def hostile_files(folder: Path) -> dict[str, Path]:
    files: dict[str, bytes | None] = {
        "zip bomb, 4 GiB of zeros": makers.zip_bomb(4 << 30),
        "zip bomb, 250 MB text member": makers.zip_bomb(250 << 20, name="log.txt",
                                                        block=b"13812345678 line\n" * 4096),
        "gzip bomb, 4 GiB of text": makers.gzip_bomb(4 << 30),
        "50-level nested zip": makers.nested_zip(50),
        "zip of 16 x 200 MB members": _fanout(),
        "7z, 1 GiB of zeros": makers.sevenz_of({"zeros.bin": b"\x00" * (1 << 30)}),
        "XML entity bomb in DOCX": makers.rewrite_zip(makers.docx(), {"word/document.xml": lambda _: _LOL}),
        "truncated DOCX": makers.docx()[:20000],
        "byte-flipped PDF": _flipped(makers.pdf(["page"] * 20)),
        "EML, broken boundary": _broken_eml(),
        "2 GB sparse file": None,
        "100 MB single line": None,
    }
    out: dict[str, Path] = {}
    for i, (label, data) in enumerate(files.items()):
        p = folder / f"h{i}"
        if label == "2 GB sparse file":
            with open(p, "wb") as f:
                f.write(b"log start\n" * 10)
                os.truncate(f.fileno(), 2 << 30)
        elif label == "100 MB single line":
            with open(p, "wb") as f:
                for _ in range(100):
                    f.write(b"x" * (1 << 20))
                f.write(b" 13812345678\n")
        else:
            assert data is not None
            p.write_bytes(data)
        out[label] = p
    return out


_LOL = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
        b'<w:r><w:t>&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;</w:t></w:r></w:p></w:body></w:document>')


def _fanout() -> bytes:
    import zipfile

    member = makers.zip_bomb(200 << 20, name="m.txt", block=b"13812345678 line\n" * 4096)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(16):
            z.writestr(f"m{i}.zip", member)
    return out.getvalue()


def _flipped(data: bytes) -> bytes:
    rnd = random.Random(7)
    out = bytearray(data)
    for _ in range(60):
        out[rnd.randrange(100, len(out) - 30)] ^= 0xFF
    return bytes(out)


def _broken_eml() -> bytes:
    body = "身份证 110101199003077774\r\n" * 1000
    return ("From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="DECLARED"\r\n\r\n--ACTUAL\r\n\r\n' + body).encode()


_CHILD = """
import sys, time
from detectors.extract import extract_path, Segment, Notice
t0 = time.perf_counter()
chars = 0; notes = []
try:
    for item in extract_path(sys.argv[1], display=sys.argv[2]):
        if isinstance(item, Segment):
            chars += len(item.text) - item.count_from
        else:
            notes.append(f"{item.kind}: {item.reason}")
except Exception as e:
    notes.append(f"raised {type(e).__name__}: {e}")
hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) // 1024
print(hwm, round(time.perf_counter() - t0, 2), chars, (notes[-1] if notes else "-")[:70], sep="\\t")
"""


def hostile(folder: Path) -> None:
    print()
    print(f"{'hostile file':30} {'input MB':>9} {'peak RSS MB':>11} {'seconds':>8} {'chars':>10}  outcome")
    worst = 0
    for label, path in hostile_files(folder).items():
        size = path.stat().st_size / 1e6
        name = {"truncated DOCX": "t.docx", "byte-flipped PDF": "f.pdf", "EML, broken boundary": "m.eml"}.get(
            label, path.name)
        res = subprocess.run([sys.executable, "-c", _CHILD, str(path), name], capture_output=True, text=True,
                             cwd=ROOT, timeout=600)
        if res.returncode:
            print(f"{label:30} FAILED: {res.stderr.strip()[-200:]}")
            continue
        hwm, secs, chars, outcome = res.stdout.strip().split("\t")
        worst = max(worst, int(hwm))
        print(f"{label:30} {size:9.1f} {int(hwm):11d} {float(secs):8.2f} {int(chars):10d}  {outcome}")
    print(f"worst peak RSS: {worst} MB (goal < 300 MB per file)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="document size multiplier")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-hostile", action="store_true")
    args = ap.parse_args()
    throughput(args.scale, args.repeat)
    if not args.skip_hostile:
        with tempfile.TemporaryDirectory() as d:
            hostile(Path(d))


if __name__ == "__main__":
    main()
