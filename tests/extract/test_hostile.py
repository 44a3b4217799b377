"""Hostile inputs, all generated here: each finishes within its budget and
says what happened (a Notice), and whatever was readable is still reported."""

from __future__ import annotations

import os
import random
import time

import pytest

from detectors.extract import ExtractLimits, Notice, Segment, extract_bytes, extract_path
from detectors.extract.sniff import DOCX, PDF, XLSX

from . import makers as m
from .conftest import Result, collect


def timed(fn, budget: float):
    t0 = time.monotonic()
    out = fn()
    elapsed = time.monotonic() - t0
    assert elapsed < budget, f"took {elapsed:.1f}s, budget {budget}s"
    return out


def test_zip_bomb_of_zeros_is_refused_by_its_declared_size() -> None:
    bomb = m.zip_bomb(4 << 30)  # 4 GiB of zeros in ~4 MB
    r = timed(lambda: collect(extract_bytes(bomb, "bomb.zip")), 5)
    [n] = r.notices
    assert n.kind == "container.limit_exceeded" and n.path == "bomb.zip!zeros.bin"
    assert "4294967296" in n.reason


def test_zip_bomb_that_hides_its_size_stops_at_the_ratio_limit() -> None:
    # The header claims the truth is small... no: it claims 300 MB of text in
    # a member compressed ~1000:1, under max_member_bytes but over max_ratio.
    size = 300 << 20
    bomb = m.zip_bomb(size, name="log.txt", block=b"13812345678 line\n" * 4096, declared=size)
    limits = ExtractLimits(max_member_bytes=512 << 20)
    r = timed(lambda: collect(extract_bytes(bomb, "ratio.zip", limits)), 10)
    assert r.kinds() == ["container.limit_exceeded"] and "ratio" in r.notices[0].reason


def test_gzip_bomb_streams_until_the_member_limit_and_keeps_what_it_read() -> None:
    limits = ExtractLimits(max_member_bytes=32 << 20, chunk_chars=1 << 20)
    bomb = m.gzip_bomb(4 << 30)
    r = timed(lambda: collect(extract_bytes(bomb, "huge.log.gz", limits)), 10)
    assert r.kinds() == ["container.limit_exceeded"]
    assert r.notices[0].path == "huge.log.gz!huge.log"
    # the text read before the limit was still handed over, in bounded chunks
    assert "13812345678" in r.segments[0].text and len(r.segments) >= 30
    assert max(len(s.text) for s in r.segments) <= limits.chunk_chars


def test_total_expanded_bytes_limit_stops_the_archive_once() -> None:
    members = {f"f{i}.txt": (f"file {i} 13812345678\n" * 5000).encode() for i in range(20)}
    limits = ExtractLimits(max_total_bytes=500_000)
    r = collect(extract_bytes(m.zip_of(members), "many.zip", limits))
    assert r.kinds() == ["container.limit_exceeded"] and "max_total_bytes" in r.notices[0].reason
    assert 3 <= len({s.path for s in r.segments}) < 20  # members before the limit are reported


def test_member_count_limit() -> None:
    members = {f"f{i}.txt": f"v{i}".encode() for i in range(50)}
    r = collect(extract_bytes(m.zip_of(members), "many.zip", ExtractLimits(max_members=10)))
    assert len(r.segments) == 10
    assert r.kinds() == ["container.limit_exceeded"] and "10 archive members" in r.notices[0].reason


def test_time_budget_reports_and_keeps_earlier_text(tmp_path) -> None:
    import gzip

    p = tmp_path / "big.log.gz"
    p.write_bytes(gzip.compress(b"13812345678 some log line\n" * 2_000_000, 1))  # ~52 MB expanded
    limits = ExtractLimits(time_budget=0.3, chunk_chars=1 << 16, max_ratio=1e6)

    def slow_consumer():  # the budget counts the scanner's time too (extraction is lazy)
        r = Result("", False)
        for item in extract_path(str(p), limits=limits):
            (r.segments if isinstance(item, Segment) else r.notices).append(item)
            time.sleep(0.01)
        return r

    r = timed(slow_consumer, 5)
    assert r.kinds()[-1] == "container.limit_exceeded" and "time budget" in r.notices[-1].reason
    assert r.segments and "13812345678" in r.segments[0].text
    assert len(r.segments) < 800  # 52 MB in 64 Ki-character chunks would be ~800


def test_top_level_plain_text_is_read_to_its_end_whatever_the_time_budget(tmp_path) -> None:
    # a multi-GB log is bounded in memory and read linearly: no clock cuts it short
    # (here: a consumer slower than the whole budget)
    p = tmp_path / "big.log"
    doc = "".join(f"{i:07d} 13812345678 some log line\n" for i in range(80_000))  # ~3 MB
    p.write_text(doc)
    limits = ExtractLimits(time_budget=0.01, chunk_chars=1 << 16)
    segments = []
    for item in extract_path(str(p), limits=limits):
        assert not isinstance(item, Notice), item
        segments.append(item)
        time.sleep(0.002)
    assert len(segments) > 10 and "".join(s.text[s.count_from:s.count_until] for s in segments) == doc


def test_fifty_level_nested_archive_stops_at_max_depth() -> None:
    data = m.nested_zip(50)
    r = timed(lambda: collect(extract_bytes(data, "n.zip")), 5)
    [n] = r.notices
    assert n.kind == "container.limit_exceeded" and "nesting deeper than 10" in n.reason
    assert n.path.count("!") == 11
    r = collect(extract_bytes(m.nested_zip(5), "n.zip"))
    assert r.segments[0].path == "n.zip!level1.zip!level2.zip!level3.zip!level4.zip!core.txt"


def test_traversal_member_names_are_labels_only(tmp_path, monkeypatch) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    marker = f"lw-escape-{os.getpid()}"
    data = m.zip_of({f"../../{marker}.txt": b"up 13812345678", f"/tmp/{marker}.txt": b"abs 13900000000",
                     "ok/\x1b[31mred\u202e.txt": b"ctl"})
    before = sorted(p.name for p in tmp_path.rglob("*"))
    r = collect(extract_bytes(data, "evil.zip"))
    assert [s.path for s in r.segments] == [f"evil.zip!../../{marker}.txt", f"evil.zip!/tmp/{marker}.txt",
                                            "evil.zip!ok/\\x1b[31mred\\u202e.txt"]
    assert "up 13812345678" in r.text() and "abs 13900000000" in r.text()
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert not os.path.exists(f"/tmp/{marker}.txt")


def _flip(data: bytes, seed: int, count: int = 40, start: int = 100) -> bytes:
    rnd = random.Random(seed)
    out = bytearray(data)
    for _ in range(count):
        i = rnd.randrange(start, len(out) - 30)
        out[i] ^= 0xFF
    return bytes(out)


def test_truncated_docx_and_xlsx_keep_the_parts_that_survive() -> None:
    d = m.docx(body=f"正文 {m.ID}", header="机密★5年")
    r = collect(extract_bytes(d[: len(d) - 30], "cut.docx"))  # central directory cut off
    assert r.kinds() == ["error"] and "salvaged" in r.notices[0].reason
    assert parts_of(r, m.ID) == {"body"} and parts_of(r, "机密★5年") == {"header"}
    x = m.xlsx()
    cut = x.index(b"PK\x03\x04", x.index(b"xl/worksheets/sheet1.xml"))  # openpyxl writes the sheet first
    r = collect(extract_bytes(x[:cut], "cut.xlsx"))  # workbook.xml lost too
    assert "salvaged" in r.notices[0].reason and m.ID in r.text()
    r = collect(extract_bytes(x[: cut - 100], "cut.xlsx"))  # the sheet itself cut short
    assert r.kinds() == ["error", "error"]
    assert r.text() and f"姓名\t身份证\t手机\n张三\t{m.ID}".startswith(r.text().rstrip("\n"))


def parts_of(r, needle: str) -> set[str]:
    return {s.part for s in r.where(needle)}


@pytest.mark.parametrize("kind", ["docx", "xlsx", "pdf"])
def test_truncated_documents_say_they_are_damaged(kind: str) -> None:
    whole = {"docx": m.docx, "xlsx": m.xlsx, "pdf": lambda: m.pdf(["page one", "page two"])}[kind]()
    for cut in (len(whole) // 2, len(whole) - 30, 200):
        r = timed(lambda: collect(extract_bytes(whole[:cut], f"cut.{kind}")), 5)
        real = {"docx": DOCX, "xlsx": XLSX, "pdf": PDF}[kind]
        # 200 bytes may not name a single part yet: then it is only a damaged ZIP
        assert r.media_type == real or (cut == 200 and r.media_type == "application/zip")
        assert not r.disguised  # damaged is not disguised
        assert r.segments or "error" in r.kinds(), r


@pytest.mark.parametrize("kind", ["docx", "xlsx", "pdf"])
@pytest.mark.parametrize("seed", range(6))
def test_byte_flipped_documents_never_crash(kind: str, seed: int) -> None:
    whole = {"docx": lambda: m.docx(header="机密★5年"), "xlsx": m.xlsx,
             "pdf": lambda: m.pdf([f"page {i} 13812345678" for i in range(5)])}[kind]()
    bad = _flip(whole, seed)
    assert bad[:4] == whole[:4]  # valid magic
    r = timed(lambda: collect(extract_bytes(bad, f"flipped.{kind}")), 10)
    assert r.segments or r.notices  # either what survived, or what went wrong


def test_damaged_part_does_not_hide_the_others() -> None:
    good = m.docx(body="正文", header="机密★5年")
    bad = m.rewrite_zip(good, {"word/document.xml": lambda x: x[: len(x) // 2]})
    r = collect(extract_bytes(bad, "half.docx"))
    assert "error" in r.kinds() and "word/document.xml" in r.notices[0].reason
    assert [s.part for s in r.where("机密★5年")] == ["header"]


def test_entity_bomb_inside_a_docx_is_refused() -> None:
    lol = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
           b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><w:document xmlns:w="http://schemas.openxmlformats.org/'
           b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&c;</w:t></w:r></w:p></w:body></w:document>')
    bad = m.rewrite_zip(m.docx(header="机密★5年"), {"word/document.xml": lambda _: lol})
    r = timed(lambda: collect(extract_bytes(bad, "lol.docx")), 5)
    assert "EntitiesForbidden" in r.notices[0].reason
    assert [s.part for s in r.where("机密★5年")] == ["header"]


def test_empty_inputs() -> None:
    r = collect(extract_bytes(b"", "nothing.zip"))  # 0-byte "archive"
    assert not r.disguised and r.segments == [] and [(n.kind, n.reason) for n in r.notices] == [("skipped", "empty")]
    empty_zip = m.zip_of({})
    r = collect(extract_bytes(empty_zip, "empty.zip"))
    assert r.media_type == "application/zip" and r.segments == [] and r.notices == []
    # an empty TAR is 10 KiB of NULs with no magic: honestly unidentifiable
    r = collect(extract_bytes(m.tar_of({}), "empty.tar"))
    assert r.segments == [] and [(n.kind, n.reason) for n in r.notices] == [("skipped", "binary")]
    r = collect(extract_bytes(m.zip_of({"zero.txt": b"", "x.txt": b"x"}), "z.zip"))
    assert [(n.path, n.reason) for n in r.notices] == [("z.zip!zero.txt", "empty")]


def test_eml_with_broken_mime_boundary_keeps_its_text() -> None:
    raw = (
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: broken\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="DECLARED"\r\n\r\n'
        "--ACTUAL\r\nContent-Type: text/plain\r\n\r\n身份证 110101199003077774\r\n--ACTUAL\r\n"
        "Content-Type: text/plain\r\n\r\n第二部分 13812345678\r\n"  # and no closing boundary
    ).encode()
    r = timed(lambda: collect(extract_bytes(raw, "broken.eml")), 5)
    assert "110101199003077774" in r.text() and "13812345678" in r.text()
    # a closing boundary that never comes
    raw2 = raw.replace(b"ACTUAL", b"DECLARED")
    r = collect(extract_bytes(raw2, "unclosed.eml"))
    assert "110101199003077774" in r.text() and "13812345678" in r.text()


def test_password_zip_7z_pdf_and_office_are_reported_encrypted() -> None:
    zip_pw = m.set_zip_encrypted_flag(m.zip_of({"secret.txt": b"x", "plain/readme.txt": b"readable"}))
    r = collect(extract_bytes(zip_pw, "pw.zip"))
    assert ("container.encrypted", "pw.zip!secret.txt") in [(n.kind, n.path) for n in r.notices]

    r = collect(extract_bytes(m.sevenz_of({"a.txt": b"13812345678"}, password="pw"), "pw.7z"))
    assert r.kinds() == ["container.encrypted"] and r.segments == []

    r = collect(extract_bytes(m.pdf(["secret 13812345678"], user_password="u"), "pw.pdf"))
    assert r.kinds() == ["container.encrypted"] and r.segments == []

    office = m.ole_file({"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": os.urandom(5000)})
    r = collect(extract_bytes(office, "pw.docx"))
    assert r.kinds() == ["container.encrypted"] and not r.disguised

    r = collect(extract_bytes(m.doc("x", encrypted=True), "pw.doc"))
    assert r.kinds() == ["container.encrypted"]


def test_encrypted_members_inside_archives_are_reported_with_their_path() -> None:
    inner = m.sevenz_of({"a.txt": b"x"}, password="pw")
    r = collect(extract_bytes(m.zip_of({"docs/pw.7z": inner, "b.txt": b"visible 13812345678"}), "outer.zip"))
    assert [(n.kind, n.path) for n in r.notices] == [("container.encrypted", "outer.zip!docs/pw.7z")]
    assert "visible 13812345678" in r.text()


def test_disguised_documents_are_scanned_and_flagged(tmp_path) -> None:
    p = tmp_path / "cat.jpg"
    p.write_bytes(m.docx(header="机密★5年"))
    r = collect(extract_path(str(p)))
    assert r.media_type == DOCX and r.disguised
    assert r.notices[0].kind == "container.disguised" and r.notices[0].attributes["media_type"] == DOCX
    assert [s.part for s in r.where("机密★5年")] == ["header"]
    r = collect(extract_bytes(m.zip_of({"photos/cat.png": m.xlsx()}), "a.zip"))
    assert [(n.kind, n.path) for n in r.notices] == [("container.disguised", "a.zip!photos/cat.png")]
    assert r.where(m.ID)[0].sheet == "客户"


def test_unknown_binary_and_media_members_are_identified() -> None:
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(200)
    r = collect(extract_bytes(m.zip_of({"a.png": png, "b.bin": os.urandom(3000)}), "media.zip"))
    assert sorted((n.path, n.reason) for n in r.notices) == [("media.zip!a.png", "image/png"),
                                                            ("media.zip!b.bin", "binary")]


def test_corrupt_archives_report_errors() -> None:
    r = collect(extract_bytes(b"PK\x03\x04" + os.urandom(500), "junk.zip"))
    assert r.kinds() == ["error"]
    r = collect(extract_bytes(b"7z\xbc\xaf\x27\x1c" + os.urandom(500), "junk.7z"))
    assert r.kinds() == ["error"]
    tgz = m.tar_of({"a.txt": b"first 13812345678", "b.txt": os.urandom(100000)}, "w:gz")
    r = collect(extract_bytes(tgz[: len(tgz) // 2], "cut.tar.gz"))
    assert "first 13812345678" in r.text() and r.kinds()[-1] == "error"
    r = collect(extract_bytes(b"\x1f\x8b" + os.urandom(100), "junk.gz"))
    assert r.kinds() == ["error"]


_PREFIXES = [b"PK\x03\x04", b"PK\x05\x06", b"%PDF-1.7\n", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"{\\rtf1 ",
             b"\x1f\x8b\x08\x00", b"BZh9", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"<?xml version='1.0'?>",
             b"<html><body>", b"From: a@b.c\r\nSubject: x\r\n\r\n", b"\xef\xbb\xbf", b"\xff\xfe", b""]


def test_random_bytes_behind_every_magic_never_raise() -> None:
    """Whatever follows a valid magic, extraction ends with segments or notices, never an exception."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(prefix=st.sampled_from(_PREFIXES), body=st.binary(max_size=3000))
    def check(prefix: bytes, body: bytes) -> None:
        items = list(extract_bytes(prefix + body, "fuzz.bin", ExtractLimits(time_budget=5)))
        assert all(getattr(i, "kind", "segment") in ("segment", "error", "skipped", "container.encrypted",
                                                      "container.limit_exceeded", "container.disguised")
                   for i in items)

    check()


def test_corrupted_real_documents_never_raise() -> None:
    """Damage inside real documents of every format (not just random bytes)."""
    docs = {"a.docx": m.docx(header="机密★5年"), "a.xlsx": m.xlsx(), "a.pptx": m.pptx([("s", "n")]),
            "a.pdf": m.pdf(["p1", "p2"]), "a.doc": m.doc("正文\r", "页眉\r"), "a.xls": m.xls([["a", 1]]),
            "a.7z": m.sevenz_of({"a.txt": b"x" * 1000}), "a.tgz": m.tar_of({"a.txt": b"x" * 1000}, "w:gz"),
            "a.eml": m.eml("body", attachments={"x.zip": m.zip_of({"y.txt": b"y"})})}
    for name, data in docs.items():
        for seed in range(8):
            # each file says something: what survived, or what went wrong
            assert list(extract_bytes(_flip(data, seed, count=8, start=8), name)), (name, seed)
        for cut in (len(data) // 3, len(data) - 1):
            assert list(extract_bytes(data[:cut], name)), (name, cut)


def test_zip_of_zips_fanout_stops_at_member_count() -> None:
    leaf = m.zip_bomb(4 << 30)  # each leaf declares 4 GiB
    level1 = m.zip_of({f"l{i}.zip": leaf for i in range(16)})
    level2 = m.zip_of({f"k{i}.zip": level1 for i in range(16)})
    r = timed(lambda: collect(extract_bytes(level2, "42.zip", ExtractLimits(max_members=100))), 20)
    assert r.segments == []
    assert r.kinds().count("container.limit_exceeded") >= 2
    assert any("100 archive members" in n.reason for n in r.notices)
