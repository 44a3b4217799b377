"""The seam with the lead's scanner: extraction output run through the real
engine and detectors, as `leakwarden scan` does."""

from __future__ import annotations

import dataclasses

import pytest

from detectors.extract import ExtractLimits

from . import makers as m

scan = pytest.importorskip("detectors.scan")
policy_mod = pytest.importorskip("detectors.policy")


def scanner(**limits: int) -> object:
    policy = policy_mod.load_policy(None)
    if limits:
        policy = dataclasses.replace(policy, limits=ExtractLimits(**limits))
    return scan.Scanner(policy=policy, hash_key=b"test-key")


@pytest.mark.parametrize("shift", [-9, 0, 9])
def test_id_across_a_chunk_border_is_one_finding_with_true_offset_and_line(tmp_path, shift: int) -> None:
    filler = "普通的一行文字 ordinary line\n"
    doc = filler * 400
    pos = 2000 - 9 + shift  # the 18-char ID straddles the first border (chunk_chars=2000)
    doc = doc[:pos] + f"\n身份证 {m.ID}\n" + doc[pos:]
    p = tmp_path / "big.txt"
    p.write_text(doc, encoding="utf-8")
    result = scanner(chunk_chars=2000, overlap_chars=200).scan_path(str(p))
    ids = [f for f in result.findings if f.detector == "pii.cn_resident_id"]
    assert len(ids) == 1
    loc = ids[0].location
    assert loc.start == doc.index(m.ID) and loc.line == doc.count("\n", 0, doc.index(m.ID)) + 1


def test_header_marking_in_docx_inside_zip_is_found_with_its_location(tmp_path) -> None:
    p = tmp_path / "bundle.zip"
    p.write_bytes(m.zip_of({"docs/a.docx": m.docx(body="本周五下午三点开会。", header="机密★5年"),
                            "ids.xlsx": m.xlsx()}))
    result = scanner().scan_path(str(p), display="bundle.zip")
    by_id = {f.detector: f for f in result.findings}
    marking = by_id["marking.cn_state_secret"]
    assert marking.location.path == "bundle.zip!docs/a.docx" and marking.location.part == "header"
    rid = by_id["pii.cn_resident_id"]
    assert (rid.location.path, rid.location.sheet, rid.location.cell) == ("bundle.zip!ids.xlsx", "客户", "B2")


def test_notices_become_container_findings(tmp_path) -> None:
    p = tmp_path / "holiday.jpg"
    p.write_bytes(m.zip_of({"pw.7z": m.sevenz_of({"a.txt": b"x"}, password="pw")}))
    result = scanner().scan_path(str(p))
    kinds = sorted(f.detector for f in result.findings)
    assert kinds == ["container.disguised", "container.encrypted"]
    assert result.disguised and result.media_type == "application/zip"
