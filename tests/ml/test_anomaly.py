"""Behaviour baselines on real SQLite files: warm-up, detection with words, persistence, bad state."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from pathlib import Path

import pytest

from detectors.ml import simulate
from detectors.ml.anomaly import AnomalyVerdict, BaselineError, Baselines

MB = 1_000_000
DAY0 = dt.datetime(2026, 3, 2)  # a Monday


def normal_day(b: Baselines, key: str, day: int, mb_per_slot: int = 4) -> list[AnomalyVerdict]:
    """Ten office-hour uploads to cloud storage: about 40 MB a day, a little more on odd days."""
    out = []
    for hour in range(9, 19):
        v = b.observe(key, "cloud-storage", (mb_per_slot + day % 2) * MB, DAY0 + dt.timedelta(days=day, hours=hour),
                      destination="drive.example.com")
        if v:
            out.append(v)
    return out


def test_no_verdict_during_warm_up(tmp_path: Path) -> None:
    b = Baselines(tmp_path / "b.sqlite3", warmup_days=7)
    for day in range(7):
        assert normal_day(b, "process:ws1/chrome", day) == []
    # even an enormous upload on day 6 of the warm-up is not judged: there is no baseline yet
    assert b.observe("process:ws1/chrome", "cloud-storage", 5_000 * MB, DAY0 + dt.timedelta(days=6, hours=23)) is None


def test_exfiltration_after_warm_up_is_explained_in_words(tmp_path: Path) -> None:
    b = Baselines(tmp_path / "b.sqlite3", warmup_days=7)
    key = "process:ws1/rclone"
    for day in range(14):
        assert normal_day(b, key, day) == []
    when = DAY0 + dt.timedelta(days=14, hours=2, minutes=10)
    v = b.observe(key, "cloud-storage", 2_100 * MB, when, destination="drive.example.com")
    assert v is not None
    assert v.signal == "volume"
    assert v.observed == 2_100 * MB
    assert 40 * MB <= v.baseline <= 50 * MB
    assert v.deviation > b.threshold
    assert "sent 2.1 GB to cloud-storage between 02:00 and 03:00" in v.explanation
    assert "this process usually sends" in v.explanation and "median of 14 active days" in v.explanation
    assert v.to_dict()["signal"] == "volume"
    # the same day, more of the same is not a new alert until it doubles
    assert b.observe(key, "cloud-storage", 100 * MB, when + dt.timedelta(minutes=5)) is None
    again = b.observe(key, "cloud-storage", 2_500 * MB, when + dt.timedelta(minutes=9))
    assert again is not None and again.observed > 2 * v.observed


def test_normal_variation_raises_nothing(tmp_path: Path) -> None:
    b = Baselines(tmp_path / "b.sqlite3", warmup_days=7)
    for day in range(28):
        if (DAY0 + dt.timedelta(days=day)).weekday() >= 5:
            continue  # quiet weekends must not drag the baseline down
        assert normal_day(b, "host:ws1", day, mb_per_slot=3 + day % 3) == []


def test_unusual_hour(tmp_path: Path) -> None:
    b = Baselines(tmp_path / "b.sqlite3", warmup_days=7, min_bytes=20 * MB)
    key = "host:ws2"
    for day in range(10):
        normal_day(b, key, day)
    v = b.observe(key, "cloud-storage", 30 * MB, DAY0 + dt.timedelta(days=10, hours=3))
    assert v is not None and v.signal == "unusual_hour"
    assert "this host was never active at this hour" in v.explanation and "usually active 09:00-19:00" in v.explanation
    assert math.isinf(v.deviation)


def test_new_destination(tmp_path: Path) -> None:
    b = Baselines(tmp_path / "b.sqlite3", warmup_days=7, new_destination_bytes=100 * MB)
    key = "process:ws3/syncthing"
    for day in range(10):
        normal_day(b, key, day)
    when = DAY0 + dt.timedelta(days=10, hours=11)
    assert b.observe(key, "cloud-storage", 60 * MB, when, destination="files.unknown.example") is None
    v = b.observe(key, "cloud-storage", 60 * MB, when + dt.timedelta(minutes=5), destination="files.unknown.example")
    assert v is not None and v.signal in ("new_destination", "volume")
    assert "files.unknown.example" in v.explanation or v.signal == "volume"


def test_removable_media_copies(tmp_path: Path) -> None:
    b = Baselines(tmp_path / "b.sqlite3", warmup_days=7)
    key = "host:ws4"
    for day in range(10):
        assert b.observe_copy(key, 2, 3 * MB, DAY0 + dt.timedelta(days=day, hours=10), device="usb:0781:5583") is None
    v = b.observe_copy(key, 300, 900 * MB, DAY0 + dt.timedelta(days=10, hours=15), device="usb:0781:5583")
    assert v is not None and v.signal == "removable_copy"
    assert "copied 300 files (900.0 MB) to usb:0781:5583" in v.explanation
    assert "usually copies 2 files" in v.explanation


def test_baselines_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "baselines.sqlite3"
    key = "process:ws5/chrome"
    b = Baselines(path, warmup_days=7)
    for day in range(9):
        normal_day(b, key, day)
    b.close()
    with Baselines(path, warmup_days=7) as again:  # a new agent process: history and warm-up are kept
        assert len(again.history(key, "cloud-storage", (DAY0 + dt.timedelta(days=9)).date().isoformat())) == 9
        v = again.observe(key, "cloud-storage", 3_000 * MB, DAY0 + dt.timedelta(days=9, hours=12))
        assert v is not None and v.signal == "volume"


def test_a_file_that_is_not_a_baseline_store_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BaselineError, match="cannot open baseline store"):
        Baselines(junk)
    future = tmp_path / "future.sqlite3"
    with sqlite3.connect(future) as db:
        db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema', '99')")
    with pytest.raises(BaselineError, match="schema 99 is not supported"):
        Baselines(future)


def test_simulated_fortnight_detects_bulk_exfiltration_without_false_alarms() -> None:
    res = simulate.run(hosts=4, days=16, seed=3, warmup_days=7)
    found = {i.name: i for i in res.incidents}
    for name in ("night_upload", "usb_dump", "new_sync"):
        assert found[name].detected_at is not None, name
        assert (found[name].detected_at - found[name].start) <= dt.timedelta(minutes=30)
    assert len(res.false_alarms) <= 2
