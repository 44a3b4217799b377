"""Policy values that used to pass unchecked: quoted booleans (bool("false") is
True) and limits that contradict each other."""

from __future__ import annotations

import pytest

from detectors.extract import ExtractLimits
from detectors.policy import MIN_OVERLAP_CHARS, parse_policy
from leakwarden.errors import ConfigError

SRC = "/etc/leakwarden/policy.yaml"


def fails(raw: dict, key: str) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        parse_policy(raw, SRC)
    assert (e.value.source, e.value.key) == (SRC, key)
    assert str(e.value).startswith(f"{SRC}: {key}: ")
    return e.value


def keywords(**extra: object) -> dict:
    return {"custom": [{"id": "custom.codes", "type": "keywords", "keywords": ["Nightjar"], **extra}]}


@pytest.mark.parametrize("value", ["false", "true", "no", 0, 1, "off", []])
def test_ml_enabled_must_be_a_real_boolean(value: object) -> None:
    err = fails({"ml": {"enabled": value}}, "ml.enabled")
    assert "true or false" in err.problem


@pytest.mark.parametrize("flag", ["case_sensitive", "whole_word"])
@pytest.mark.parametrize("value", ["false", "False", 0, "yes"])
def test_custom_detector_flags_must_be_real_booleans(flag: str, value: object) -> None:
    fails(keywords(**{flag: value}), f"custom[0].{flag}")


def test_real_booleans_and_defaults_still_work() -> None:
    assert parse_policy({"ml": {"enabled": False}}, SRC).ml.enabled is False
    assert parse_policy({}, SRC).ml.enabled is False
    assert parse_policy(keywords(case_sensitive=True, whole_word=False), SRC).custom[0].id == "custom.codes"


def test_quoted_false_no_longer_matches_case_insensitively() -> None:
    from detectors.extract.segment import Segment

    on = parse_policy(keywords(case_sensitive=True), SRC).custom[0]
    off = parse_policy(keywords(case_sensitive=False), SRC).custom[0]
    seg = Segment(text="project NIGHTJAR\n", path="x")
    assert [m.value for m in off.scan(seg)] == ["NIGHTJAR"] and list(on.scan(seg)) == []


@pytest.mark.parametrize("limits, key, words", [
    ({"chunk_chars": 1000, "overlap_chars": 5000}, "limits.overlap_chars", "at least"),
    ({"overlap_chars": 100}, "limits.overlap_chars", "at least"),
    ({"chunk_chars": 16000}, "limits.chunk_chars", "more than twice"),
    ({"chunk_chars": 100000, "overlap_chars": 50000}, "limits.chunk_chars", "more than twice"),
    ({"overlap_chars": 1 << 20}, "limits.overlap_chars", "more than twice"),
    ({"max_ratio": 1}, "limits.max_ratio", "between"),
    ({"max_ratio": 2}, "limits.max_ratio", "between"),
    ({"max_ratio": 1e9}, "limits.max_ratio", "between"),
    ({"time_budget": 0}, "limits.time_budget", "positive"),
])
def test_limits_are_checked_against_each_other(limits: dict, key: str, words: str) -> None:
    assert words in fails({"limits": limits}, key).problem


def test_sane_limits_are_accepted() -> None:
    p = parse_policy({"limits": {"chunk_chars": 65536, "overlap_chars": MIN_OVERLAP_CHARS, "max_ratio": 50}}, SRC)
    assert (p.limits.chunk_chars, p.limits.overlap_chars, p.limits.max_ratio) == (65536, MIN_OVERLAP_CHARS, 50.0)
    assert parse_policy({}, SRC).limits == ExtractLimits()
    assert ExtractLimits().overlap_chars >= MIN_OVERLAP_CHARS  # the default passes its own check
