"""Values at a chunk edge are judged with real context on both sides.

A chunk's text stops at the cut, so a boundary check there ((?![0-9])) saw
nothing: the first 18 digits of a 19-digit run ending exactly at the cut were
reported as a resident ID. These tests stream real files through the real
scanner with small chunks and put near misses and positives right at, just
before and just after every kind of edge, for both prefilter backends.
"""

from __future__ import annotations

import dataclasses

import pytest

from detectors.engine import _hs
from detectors.extract import ExtractLimits
from detectors.policy import load_policy
from detectors.scan import Scanner

CHUNK, OVERLAP = 2000, 200
ID = "110105199003071239"  # valid GB 11643 check digit
PHONE = "13918594685"
FILLER = "普通的一行文字 ordinary line\n"

BACKENDS = ["regex", pytest.param("hyperscan", marks=pytest.mark.skipif(_hs is None, reason="no hyperscan"))]


@pytest.fixture(scope="module", params=BACKENDS)
def scanner(request) -> Scanner:
    policy = dataclasses.replace(load_policy(None), limits=ExtractLimits(chunk_chars=CHUNK, overlap_chars=OVERLAP))
    return Scanner(policy, hash_key=b"test-key-0123456789", backend=request.param)


#: document offsets that are edges of the first chunks: the cut itself, the
#: end of chunk 0's counted region (= start of chunk 1's), and the start of
#: chunk 1's text
EDGES = [CHUNK, CHUNK - OVERLAP // 2, CHUNK - OVERLAP, 2 * CHUNK - OVERLAP]


def doc_with(value: str, end: int, after: str, total: int = 3 * CHUNK) -> str:
    """Filler text with ``value`` ending at document offset ``end``, then ``after``."""
    head = (FILLER * (end // len(FILLER) + 2))[: end - len(value) - 1] + " "
    doc = head + value + after
    return doc + (FILLER * (total // len(FILLER) + 1))[: max(0, total - len(doc))]


def scan(scanner: Scanner, tmp_path, doc: str, detector: str) -> list[tuple[int, int]]:
    p = tmp_path / "edge.txt"
    p.write_text(doc, encoding="utf-8")
    result = scanner.scan_path(str(p))
    assert result.error is None
    return [(f.location.start, f.location.end) for f in result.findings if f.detector == detector]


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_longer_digit_run_at_an_edge_is_no_resident_id(scanner, tmp_path, edge: int, shift: int) -> None:
    # the first 18 digits of a 19-digit run are a valid ID, and end at the edge
    assert scan(scanner, tmp_path, doc_with(ID, edge + shift, "5 是流水号\n"), "pii.cn_resident_id") == []


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_mobile_followed_by_more_digits_at_an_edge_is_no_mobile(scanner, tmp_path, edge: int, shift: int) -> None:
    assert scan(scanner, tmp_path, doc_with("电话：" + PHONE, edge + shift, "99 订单号\n"), "pii.cn_mobile") == []


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_digits_before_an_id_at_an_edge_make_it_no_id(scanner, tmp_path, edge: int, shift: int) -> None:
    # the run starts before the chunk start: the ID is the tail of a longer number
    start = edge + shift
    doc = doc_with("7" + ID, start + len(ID), " 是流水号\n")
    assert scan(scanner, tmp_path, doc, "pii.cn_resident_id") == []


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("shift", range(-20, 21, 4))
def test_resident_id_near_an_edge_is_found_once_at_its_offset(scanner, tmp_path, edge: int, shift: int) -> None:
    doc = doc_with(ID, edge + shift, "。\n")
    start = doc.index(ID)
    assert scan(scanner, tmp_path, doc, "pii.cn_resident_id") == [(start, start + len(ID))]


@pytest.mark.parametrize("cut", [1, 2, 3, 4])  # 机|密★5年, 机密|★5年, 机密★|5年, 机密★5|年
def test_state_secret_marking_cut_by_the_chunk_edge_is_one_finding(scanner, tmp_path, cut: int) -> None:
    # a marking on its own line whose first `cut` characters end chunk 0
    doc = doc_with("\n" + "机密★5年"[:cut], CHUNK, "机密★5年"[cut:] + "\n")
    p = tmp_path / "mark.txt"
    p.write_text(doc, encoding="utf-8")
    found = [f for f in scanner.scan_path(str(p)).findings if f.detector == "marking.cn_state_secret"]
    assert len(found) == 1
    assert found[0].location.start == doc.index("机密★5年")
    assert (found[0].attributes["level"], found[0].attributes["period"]) == ("机密", "5年")


def test_every_chunk_counts_between_its_bounds(tmp_path) -> None:
    from detectors.extract import extract_path

    p = tmp_path / "t.txt"
    doc = FILLER * 500
    p.write_text(doc, encoding="utf-8")
    segs = [s for s in extract_path(str(p), limits=ExtractLimits(chunk_chars=CHUNK, overlap_chars=OVERLAP))
            if hasattr(s, "text")]
    assert len(segs) > 3
    for s in segs[:-1]:  # at least half the overlap of real text after the counted region
        assert len(s.text) - s.count_until >= OVERLAP // 2
    for s in segs[1:]:  # and before it
        assert s.count_from >= OVERLAP // 2
    assert "".join(s.text[s.count_from:s.count_until] for s in segs) == doc
