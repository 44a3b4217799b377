"""The content-hash cache of index.db: entries are written with the next file records, never lost by a clean stop."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agent.index import FileRecord, Index

FOUND = {"path": "/w/a.txt", "findings": [{"detector": "cn_id", "masked": "4403**********1231"}], "media_type": "text/plain",
         "disguised": False}


def _rows(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT count(*) FROM cache").fetchone()[0]
    finally:
        db.close()


def test_a_cached_scan_is_served_at_once_written_with_the_next_records_and_kept_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    idx = Index(path)
    idx.cache("h1", FOUND)
    assert idx.cached("h1") == FOUND  # a copy of the same content right after: no rescan
    assert idx.cached("h2") is None
    assert _rows(path) == 0  # not yet: one transaction with the file records, not one per scan
    idx.put_records([("/w", FileRecord("/w/a.txt", 10, 1, "h1", ("cn_id",), "high"))])
    assert _rows(path) == 1
    idx.cache("h3", {**FOUND, "path": "/w/b.txt"})
    idx.close()  # a clean stop writes what waits
    again = Index(path)
    assert again.cached("h1") == FOUND and again.cached("h3")["path"] == "/w/b.txt"
    again.close()
