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


# -- per-destination baseline (Baselines.observe_destination) ---------------------------------

def usual_destination_day(b: Baselines, day: int, destination: str = "files.example.com") -> list[AnomalyVerdict]:
    """Office hours to one destination: 2-6 MB an hour (median about 3-4 MB)."""
    out = []
    for hour in range(9, 18):
        v = b.observe_destination(destination, "cloud-storage", (2 + (day + hour) % 5) * MB,
                                  DAY0 + dt.timedelta(days=day, hours=hour, minutes=30))
        if v:
            out.append(v)
    return out


def test_destination_volume_far_above_its_usual_hour_is_explained(tmp_path: Path) -> None:
    b = Baselines(tmp_path / "b.sqlite3", warmup_days=7)
    for day in range(14):
        assert usual_destination_day(b, day) == []
    when = DAY0 + dt.timedelta(days=14, hours=14, minutes=5)
    v = b.observe_destination("files.example.com", "cloud-storage", 480 * MB, when)
    assert v is not None and v.signal == "destination_volume"
    assert v.key == "destination:files.example.com" and v.category == "cloud-storage"
    assert v.observed == 480 * MB and 2 * MB <= v.baseline <= 6 * MB and v.deviation >= b.threshold
    assert v.history_days == 14 and v.window == "14:00-15:00"
    assert v.explanation.startswith("sent 480.0 MB to files.example.com (cloud-storage) between 14:00 and 15:00")
    assert "its usual hour is 2.0 MB-6.0 MB" in v.explanation
    assert "126 active hours on 14 of the last 14 days" in v.explanation
    # one story a day: more to the same destination is news only once the hour's total has doubled
    assert b.observe_destination("files.example.com", "cloud-storage", 100 * MB, when + dt.timedelta(minutes=10)) is None
    again = b.observe_destination("files.example.com", "cloud-storage", 500 * MB, when + dt.timedelta(minutes=20))
    assert again is not None and again.observed == 1_080 * MB
    # another destination with its own usual traffic is judged on its own history, not on this one's
    assert b.observe_destination("mail.example.org", "mail", 480 * MB, when) is None  # first seen today: warm-up


def test_destination_warm_up_and_ordinary_hours(tmp_path: Path) -> None:
    b = Baselines(tmp_path / "b.sqlite3", warmup_days=7)
    for day in range(6):
        usual_destination_day(b, day)
    # day 6 of the warm-up: even 5 GB is not judged, there is no baseline yet
    assert b.observe_destination("files.example.com", "cloud-storage", 5_000 * MB, DAY0 + dt.timedelta(days=6, hours=20)) is None
    for day in range(7, 21):
        assert usual_destination_day(b, day) == []  # its usual variation raises nothing
    # a busy hour within the usual spread, above min_bytes, is not an anomaly either
    b2 = Baselines(tmp_path / "b2.sqlite3", warmup_days=7, min_bytes=1 * MB)
    for day in range(10):
        usual_destination_day(b2, day)
    assert b2.observe_destination("files.example.com", "cloud-storage", 9 * MB, DAY0 + dt.timedelta(days=10, hours=10)) is None


def test_destination_baseline_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "baselines.sqlite3"
    b = Baselines(path, warmup_days=7)
    for day in range(9):
        usual_destination_day(b, day)
    b.close()
    with Baselines(path, warmup_days=7) as again:
        assert again.tracked_destinations() == 1
        v = again.observe_destination("files.example.com", "cloud-storage", 300 * MB, DAY0 + dt.timedelta(days=9, hours=11))
        assert v is not None and "9 of the last 9 days" in v.explanation


def test_tracked_destinations_are_capped_least_recently_seen_first(tmp_path: Path) -> None:
    b = Baselines(tmp_path / "b.sqlite3", warmup_days=7, max_destinations=20)
    for day in range(10):
        usual_destination_day(b, day, "keep.example.com")
        # a stream of one-off destinations (ad servers, CDNs) must not grow the store without end
        for i in range(10):
            b.observe_destination(f"once-{day}-{i}.example.net", "web", 1000, DAY0 + dt.timedelta(days=day, hours=12))
    assert b.tracked_destinations() <= 20
    db = sqlite3.connect(tmp_path / "b.sqlite3")
    kept = {d for (d,) in db.execute("SELECT destination FROM dest_seen")}
    assert "keep.example.com" in kept and "once-0-0.example.net" not in kept
    assert db.execute("SELECT count(*) FROM dest_hourly WHERE destination='once-0-0.example.net'").fetchone()[0] == 0
    db.close()
    # the destination used every day kept its history: a burst to it is still recognised
    v = b.observe_destination("keep.example.com", "cloud-storage", 400 * MB, DAY0 + dt.timedelta(days=10, hours=15))
    assert v is not None and v.signal == "destination_volume"


def test_destinations_not_seen_within_the_history_are_forgotten(tmp_path: Path) -> None:
    b = Baselines(tmp_path / "b.sqlite3", warmup_days=7, history_days=28)
    for day in range(10):
        usual_destination_day(b, day, "old.example.com")
    b.observe_destination("other.example.com", "web", 1000, DAY0 + dt.timedelta(days=45))
    assert b.tracked_destinations() == 1  # old.example.com: last seen 36 days ago
    # back after its history expired: a new warm-up, not a comparison with stale hours
    assert b.observe_destination("old.example.com", "cloud-storage", 900 * MB, DAY0 + dt.timedelta(days=45, hours=1)) is None
