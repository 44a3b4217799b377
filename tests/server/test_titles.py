"""Alert titles (``server.ingest._title``): the kind once, and the file's own name from POSIX,
Windows and archive-member paths, whatever characters the (attacker-chosen) name holds."""

from __future__ import annotations

import msgspec
import pytest

from leakwarden.wire import Event
from server.ingest import _title
from tests.server.helpers import event, finding


def _event(kind: str, **extra: object) -> Event:
    return msgspec.convert(event(1, kind, **extra), Event)


def test_an_event_without_findings_names_its_kind_once() -> None:
    e = _event("device.attach", device={"vendor": "SanDisk", "model": "Cruzer", "serial": "4C53"})
    assert _title(e) == "device.attach · Cruzer"
    assert _title(_event("file.delete")) == "file.delete"


@pytest.mark.parametrize(("path", "name"), [
    ("/home/u/report.docx", "report.docx"),
    (r"C:\Users\bob\live<b>new</b>.txt", "live<b>new</b>.txt"),
    (r"\\fileserver\share\季度报告.xlsx", "季度报告.xlsx"),
    ("/media/usb/q.zip!报告/正文.docx", "q.zip!正文.docx"),
    (r"D:\exports\q.zip!inner.tar!a/b/c.csv", "q.zip!inner.tar!c.csv"),
    ("/tmp/wow!.txt", "wow!.txt"),
])
def test_the_file_part_is_the_paths_last_component(path: str, name: str) -> None:
    e = _event("file.write", file={"path": path}, findings=[finding("pii.email", path=path)])
    assert _title(e) == f"pii.email · file.write · {name}"
