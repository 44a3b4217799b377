"""A ZIP member whose CRC-32 was altered is still read (as unzip reads it) and
the bad CRC is reported: a tampered archive must not hide its content."""

from __future__ import annotations

import struct
import zipfile

import pytest

from detectors.extract import extract_bytes
from detectors.policy import load_policy
from detectors.scan import Scanner

from . import makers as m
from .conftest import collect


def flip_crc(data: bytes, member: str) -> bytes:
    """Flip one CRC byte of ``member`` in its local header and central directory entry."""
    out = bytearray(data)
    name = member.encode()
    pos = out.find(b"PK\x03\x04")
    while pos >= 0:
        nlen = struct.unpack_from("<H", out, pos + 26)[0]
        if bytes(out[pos + 30:pos + 30 + nlen]) == name:
            out[pos + 14] ^= 0xFF
        pos = out.find(b"PK\x03\x04", pos + 4)
    pos = out.find(b"PK\x01\x02")
    while pos >= 0:
        nlen = struct.unpack_from("<H", out, pos + 28)[0]
        if bytes(out[pos + 46:pos + 46 + nlen]) == name:
            out[pos + 16] ^= 0xFF
        pos = out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


def scanner() -> Scanner:
    return Scanner(load_policy(None), hash_key=b"test-key-0123456789")


def _bad_crc_is_real(data: bytes, member: str) -> None:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as zf, pytest.raises(zipfile.BadZipFile, match="CRC"):
        zf.read(member)  # the input really is what the audit built


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_zip_member_with_bad_crc_is_scanned_and_flagged(tmp_path, compression: int) -> None:
    data = flip_crc(m.zip_of({"a.txt": f"身份证 {m.ID}\n".encode()}, compression=compression), "a.txt")
    _bad_crc_is_real(data, "a.txt")
    p = tmp_path / "badcrc.zip"
    p.write_bytes(data)
    result = scanner().scan_path(str(p), display="badcrc.zip")
    assert [(f.detector, f.location.path) for f in result.findings] == [("pii.cn_resident_id", "badcrc.zip!a.txt")]
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("badcrc.zip!a.txt: bad CRC-32") and "scanned anyway" in result.warnings[0]


def test_docx_part_with_bad_crc_is_scanned_and_flagged() -> None:
    data = flip_crc(m.docx(body=f"身份证号码：{m.ID}", header="机密★5年", footer=""), "word/document.xml")
    _bad_crc_is_real(data, "word/document.xml")
    r = collect(extract_bytes(data, "bad.docx"))
    assert m.ID in r.text(part="body")
    crc = [n for n in r.notices if n.attributes.get("bad_crc")]
    assert [(n.kind, n.path, n.attributes["part"]) for n in crc] == [("error", "bad.docx", "word/document.xml")]
    result = scanner().scan_bytes(data, "bad.docx")
    assert sorted(f.detector for f in result.findings) == ["marking.cn_state_secret", "pii.cn_resident_id"]


def test_bad_crc_deep_inside_nested_archives_names_the_member() -> None:
    inner = flip_crc(m.zip_of({"ids.txt": f"电话 {m.PHONE}\n".encode()}), "ids.txt")
    outer = m.zip_of({"x/inner.zip": inner, "ok.txt": b"nothing here"})
    r = collect(extract_bytes(outer, "outer.zip"))
    assert m.PHONE in r.text(path="outer.zip!x/inner.zip!ids.txt")
    crc = [n.path for n in r.notices if n.attributes.get("bad_crc")]
    assert crc == ["outer.zip!x/inner.zip!ids.txt"]


def test_intact_archives_report_no_crc_problem() -> None:
    r = collect(extract_bytes(m.zip_of({"a.txt": b"hello", "b.docx": m.docx()}), "ok.zip"))
    assert r.notices == [] and "hello" in r.text()

