"""Plain text: encodings, binary detection, chunk borders, streaming, bad paths."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time

import pytest

from detectors.extract import ExtractLimits, extract_bytes, extract_path
from leakwarden.errors import ExtractionError

from .conftest import collect, counted

ZH = "身份证号 110101199003077774，电话13812345678。机密★5年\n第二行 password=Tr0ub4dor\n"
TW = "國家機密，請勿外傳。身分證字號 A123456789，電話 0912-345-678。\n"
LATIN = "Café résumé naïve — password=Tr0ub4dor\n"


@pytest.mark.parametrize(
    ("encoding", "text", "bom"),
    [
        ("utf-8", ZH, b""),
        ("utf-8", ZH, b"\xef\xbb\xbf"),
        ("utf-16-le", ZH, b""),
        ("utf-16-le", ZH, b"\xff\xfe"),
        ("utf-16-be", ZH, b""),
        ("utf-16-be", ZH, b"\xfe\xff"),
        ("utf-32-le", ZH, b"\xff\xfe\x00\x00"),
        ("gb18030", ZH, b""),
        ("gbk", ZH, b""),
        ("big5", TW, b""),
        ("cp1252", LATIN, b""),
        ("latin-1", LATIN.replace("—", "-"), b""),
    ],
)
def test_encodings_decode_to_the_original_text(encoding: str, text: str, bom: bytes, tmp_path) -> None:
    p = tmp_path / "doc.txt"
    p.write_bytes(bom + (text * 20).encode(encoding))
    r = collect(extract_path(str(p)))
    assert r.media_type == "text/plain"
    assert r.notices == []
    assert r.text() == text * 20


def test_invalid_bytes_are_replaced_not_fatal() -> None:
    data = "前文：客户资料如下 13812345678 ".encode() + b"\xff\xfe\xc3(" + " 后文 secret".encode()
    r = collect(extract_bytes(data * 100, "broken.txt"))
    assert "13812345678" in r.text() and "后文 secret" in r.text()


def test_binary_content_is_skipped_with_a_reason() -> None:
    r = collect(extract_bytes(bytes(range(256)) * 64, "data.txt"))
    assert r.segments == []
    assert [(n.kind, n.reason) for n in r.notices] == [("skipped", "binary")]


def test_image_is_identified_by_type() -> None:
    r = collect(extract_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200), "photo.png"))
    assert r.segments == [] and r.notices[0].reason == "image/png" and not r.disguised


def test_empty_file(tmp_path) -> None:
    p = tmp_path / "empty.txt"
    p.write_bytes(b"")
    r = collect(extract_path(str(p)))
    assert r.segments == [] and [(n.kind, n.reason) for n in r.notices] == [("skipped", "empty")]


def _engine_hits(segments, needle: str) -> list[tuple[int, int]]:
    """What the engine keeps: occurrences ending in (count_from, count_until] (engine.py drops the rest)."""
    out = []
    for k, s in enumerate(segments):
        for m in re.finditer(re.escape(needle), s.text):
            if s.count_from < m.end() <= (len(s.text) if s.count_until is None else s.count_until):
                out.append((k, m.start()))
    return out


@pytest.mark.parametrize("shift", [-20, -11, -10, -1, 0, 1, 9, 10, 30])
def test_marker_across_a_chunk_border_is_found_exactly_once(shift: int) -> None:
    limits = ExtractLimits(chunk_chars=1000, overlap_chars=64)
    marker = "110101199003077774"
    border = 1000  # end of the first chunk
    pos = border - len(marker) // 2 + shift
    filler = "中文abc\n" * 400
    doc = filler[:pos] + marker + filler[pos:]
    segs = [s for s in extract_bytes(doc.encode(), "big.txt", limits) if hasattr(s, "text")]
    assert len(segs) >= 3
    # counted regions tile the document: no character counted twice or lost
    assert "".join(counted(s) for s in segs) == doc
    assert len(_engine_hits(segs, marker)) == 1
    assert [s.at_start for s in segs] == [True] + [False] * (len(segs) - 1)
    assert [s.at_end for s in segs] == [False] * (len(segs) - 1) + [True]
    assert segs[0].count_from == 0 and all(s.count_from == 32 for s in segs[1:])
    assert all(s.count_until == 1000 - 32 for s in segs[:-1]) and segs[-1].count_until is None
    # line numbers stay right in every chunk
    k, off = _engine_hits(segs, marker)[0]
    s = segs[k]
    assert s.line_base + s.text.count("\n", 0, off) == doc.count("\n", 0, doc.index(marker)) + 1


def test_streamed_file_chunks_tile_the_file(tmp_path) -> None:
    limits = ExtractLimits(chunk_chars=4096, overlap_chars=100)
    lines = [f"{i:06d} 用户 user{i}@example.com 手机 138{i:08d}\n" for i in range(3000)]
    doc = "".join(lines)
    p = tmp_path / "app.log"
    p.write_text(doc, encoding="utf-16")  # multi-byte decoding across read blocks
    segs = [s for s in extract_path(str(p), limits=limits) if hasattr(s, "text")]
    assert "".join(counted(s) for s in segs) == doc
    for s in segs[1:]:
        first_full_line = s.text.index("\n") + 1
        number = int(s.text[first_full_line:first_full_line + 6])
        assert s.line_base + s.text.count("\n", 0, first_full_line) == number + 1


def _peak_rss_of(code: str) -> tuple[int, str]:
    """Run ``code`` in a fresh interpreter; its own peak RSS in MB and its output.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking
    parent (pytest, big after other tests) across exec."""
    code += ("\nprint(next(int(line.split()[1]) // 1024 for line in open('/proc/self/status')"
             " if line.startswith('VmHWM')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    return int(lines[-1]), "\n".join(lines[:-1])


def test_single_100mb_line_streams_in_bounded_memory(tmp_path) -> None:
    p = tmp_path / "one-line.txt"
    with open(p, "wb") as f:
        block = b"x" * (1 << 20)
        for _ in range(100):
            f.write(block)
        f.write(b" 13812345678 end")
    code = (
        "from detectors.extract import extract_path\n"
        f"segs = 0; tail = ''\n"
        f"for s in extract_path({str(p)!r}):\n"
        "    segs += 1; tail = s.text[-20:]; assert len(s.text) <= 1 << 20\n"
        "print(segs, repr(tail))\n"
    )
    peak_mb, out = _peak_rss_of(code)
    segs, tail = out.split(" ", 1)
    assert int(segs) == 101 and "13812345678 end" in tail
    assert peak_mb < 200, f"peak RSS {peak_mb} MB"


def test_sparse_2gb_file_finishes_quickly(tmp_path) -> None:
    p = tmp_path / "sparse.log"
    with open(p, "wb") as f:
        f.write(b"start of log: user@example.com\n" * 10)
        os.truncate(f.fileno(), 2 << 30)
    t0 = time.monotonic()
    r = collect(extract_path(str(p)))
    assert time.monotonic() - t0 < 10
    # NULs in the first block: the file is reported, not silently dropped
    assert r.notices and r.notices[0].kind == "skipped" and r.notices[0].reason == "binary"


def test_text_then_hole_skips_the_hole(tmp_path) -> None:
    p = tmp_path / "prealloc.log"
    head = b"line with 13812345678\n" * 5000  # > the sniffed sample, so it is text
    with open(p, "wb") as f:
        f.write(head)
        f.seek(1 << 30)
        f.write(b"tail secret 13900000000\n")
    t0 = time.monotonic()
    r = collect(extract_path(str(p)))
    assert time.monotonic() - t0 < 10
    assert "tail secret 13900000000" in r.text() and r.text().count("13812345678") == 5000


def test_file_growing_during_scan_is_read_to_its_starting_size(tmp_path) -> None:
    p = tmp_path / "growing.log"
    p.write_bytes(b"first 13812345678\n" * 100000)
    size = p.stat().st_size
    ex = extract_path(str(p), limits=ExtractLimits(chunk_chars=10000, overlap_chars=100))
    it = iter(ex)
    first = next(it)
    with open(p, "ab") as f:
        f.write(b"later\n" * 100000)
    rest = list(it)
    total = "".join(counted(s) for s in [first, *rest])
    assert len(total.encode()) == size


def test_file_shrinking_during_scan_ends_cleanly(tmp_path) -> None:
    p = tmp_path / "shrinking.log"
    p.write_bytes(b"first 13812345678\n" * 100000)
    ex = extract_path(str(p), limits=ExtractLimits(chunk_chars=10000, overlap_chars=100))
    it = iter(ex)
    next(it)
    os.truncate(p, 1000)
    rest = list(it)  # no exception, no hang
    assert rest and rest[-1].at_end


def test_fifo_is_refused_without_blocking(tmp_path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(ExtractionError, match=r"not a regular file \(FIFO\)"):
        extract_path(str(fifo))
    assert time.monotonic() - t0 < 1


@pytest.mark.parametrize("dev", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_device_files_are_refused(dev: str) -> None:
    with pytest.raises(ExtractionError, match=r"not a regular file \(character device\)"):
        extract_path(dev)


def test_directory_symlink_loop_and_missing(tmp_path) -> None:
    with pytest.raises(ExtractionError, match="is a directory"):
        extract_path(str(tmp_path))
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(ExtractionError, match="symbolic link loop"):
        extract_path(str(tmp_path / "a"))
    with pytest.raises(ExtractionError, match="no such file"):
        extract_path(str(tmp_path / "gone.txt"))


def test_permission_denied_is_reported() -> None:
    # Root reads everything, so drop to "nobody" for real: the effective uid
    # decides permission checks and root can switch back afterwards.
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged uid")
    d = tempfile.mkdtemp()
    try:
        os.chmod(d, 0o755)
        p = os.path.join(d, "secret.txt")
        with open(p, "w") as f:
            f.write("13812345678")
        os.chmod(p, 0o000)
        os.seteuid(65534)
        try:
            with pytest.raises(ExtractionError, match="permission denied"):
                extract_path(p)
        finally:
            os.seteuid(0)
    finally:
        os.unlink(os.path.join(d, "secret.txt"))
        os.rmdir(d)


def test_max_file_bytes_skips_big_files(tmp_path) -> None:
    p = tmp_path / "big.txt"
    p.write_bytes(b"a" * 5000)
    r = collect(extract_path(str(p), limits=ExtractLimits(max_file_bytes=1000)))
    assert r.segments == [] and r.notices[0].kind == "skipped" and "max_file_bytes" in r.notices[0].reason


def test_disguised_text_under_image_name(tmp_path) -> None:
    p = tmp_path / "holiday.jpg"
    p.write_text("机密★5年\n内部资料\n", encoding="utf-8")
    r = collect(extract_path(str(p)))
    assert r.disguised and r.media_type == "text/plain"
    assert "container.disguised" in r.kinds() and "机密★5年" in r.text()
