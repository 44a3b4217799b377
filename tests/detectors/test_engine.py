"""The engine: one prefilter pass, verification in windows, chunk overlap, backends agree."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.base import PatternDetector
from detectors.engine import Engine, _char_offsets
from detectors.extract.segment import Segment
from detectors.findings import Severity


class Digits8(PatternDetector):
    """Exactly eight digits, not part of a longer run; valid when the digit sum is even."""

    id = "test.digits8"
    severity = Severity.LOW
    prefilter = r"[0-9]{8}"
    pattern = re.compile(r"(?<![0-9])(?P<value>[0-9]{8})(?![0-9])")

    def validate(self, value, match, segment):
        return sum(map(int, value)) % 2 == 0


class Word(PatternDetector):
    id = "test.word"
    prefilter = r"机密|secret"
    prefilter_caseless = True
    pattern = re.compile(r"机密|secret", re.I)


def scan(text: str, backend: str = "auto", **seg):
    engine = Engine([Digits8(), Word()], backend=backend)
    return [(m.detector, m.start, m.end, m.value) for m in engine.scan(Segment(text=text, path="t", **seg))]


def test_offsets_are_characters_in_cjk_text() -> None:
    text = "电话12345678。机密文件 SECRET"
    got = scan(text)
    assert ("test.digits8", 2, 10, "12345678") in got
    assert ("test.word", 11, 13, "机密") in got
    assert ("test.word", 16, 22, "SECRET") in got
    for _, s, e, v in got:
        assert text[s:e] == v


def test_validator_and_boundaries() -> None:
    assert scan("x 12345679 y") == []  # odd digit sum: validator rejects
    assert scan("123456789012") == []  # inside a longer run
    assert [v for *_, v in scan("a 11111111 b")] == ["11111111"]


def test_count_from_drops_matches_wholly_in_the_overlap() -> None:
    text = "11111111 ... 22222222"
    assert [v for *_, v in scan(text, count_from=10)] == ["22222222"]
    # a match straddling count_from was not complete in the previous chunk: keep it
    assert [v for *_, v in scan(text, count_from=5)] == ["11111111", "22222222"]


def test_char_offset_mapping_handles_offsets_inside_characters() -> None:
    data = "a机b".encode()
    assert _char_offsets(data, {0, 1, 2, 4, 5}) == {0: 0, 1: 1, 2: 1, 4: 2, 5: 3}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["11111111", "22224444", "1234567812", "机密", "SeCrEt", "电话", " ", "\n", "x",
                                 "13579", "。", "\u00e9"]), max_size=40))
def test_hyperscan_and_regex_backends_agree(parts: list[str]) -> None:
    pytest.importorskip("hyperscan")
    text = "".join(parts)
    assert scan(text, "hyperscan") == scan(text, "regex")


def test_backends_agree_on_a_large_random_text() -> None:
    pytest.importorskip("hyperscan")
    rnd = random.Random(7)
    parts = [rnd.choice(["保密 ", "机密", "secret ", str(rnd.randrange(10**7, 10**9)), "a", "\n", "。"]) for _ in range(20000)]
    text = "".join(parts)
    hs, rx = scan(text, "hyperscan"), scan(text, "regex")
    assert hs == rx and len(hs) > 1000


@pytest.mark.parametrize("backend", ["hyperscan", "regex"])
def test_a_flooded_pattern_is_verified_in_one_pass_with_the_same_findings(backend: str, monkeypatch) -> None:
    """A planted file with millions of candidates of one pattern: hits stay bounded (the pattern is
    verified over the whole segment instead), the other patterns keep their windows, findings equal."""
    import detectors.engine as engine_mod
    rnd = random.Random(5)
    lines = [f"机密 {rnd.randrange(10**7, 10**8)} " for _ in range(3000)] + ["secret 12345678 end"]
    text = "\n".join(lines)
    unlimited = scan(text, backend)
    monkeypatch.setattr(engine_mod, "HIT_LIMIT", 500)
    engine = Engine([Digits8(), Word()], backend=backend)
    hits, flooded = engine.prefilter.candidates(text.encode("utf-8"))
    assert flooded == {0, 1} and hits == []  # both patterns are past 500 hits here
    assert scan(text, backend) == unlimited
    # one flooded pattern: the other one's hits are all still there
    few_words = "\n".join(f"{rnd.randrange(10**7, 10**8)}" for _ in range(2000)) + "\nsecret 机密"
    hits, flooded = Engine([Digits8(), Word()], backend=backend).prefilter.candidates(few_words.encode("utf-8"))
    assert flooded == {0} and sorted(i for i, _, _ in hits) == [1, 1]
    monkeypatch.setattr(engine_mod, "HIT_LIMIT", 10**9)
    unlimited = scan(few_words, backend)
    monkeypatch.setattr(engine_mod, "HIT_LIMIT", 500)
    assert scan(few_words, backend) == unlimited and unlimited
