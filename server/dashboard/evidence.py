"""Turn stored (already redacted) evidence and events into rows the detail page shows.

Every value here is attacker-controlled text from an endpoint; it is returned
as plain ``str`` and escaped by the templates, never marked safe. Labels are
catalogue message ids (``N_``), translated in the template.
"""

from __future__ import annotations

from typing import Any

from server.dashboard.labels import DEVICE_POLICIES, N_
from server.store.interface import Alert


class Msg(str):
    """A value that is itself a catalogue message id (templates translate it; data is never one).

    ``params`` are substituted after translation (``Translator.gettext``): numbers formatted for
    the reader's locale, text (process names, ids) as it is, escaped by the template like any value."""

    params: dict[str, Any]

    def __new__(cls, message: str, **params: Any) -> "Msg":
        self = super().__new__(cls, message)
        self.params = params
        return self


Row = tuple[str, str]  # (label message id, value: data, or a Msg)


def describe_location(loc: dict[str, Any]) -> list[Row]:
    """File, archive members (``outer.zip!inner/doc.docx``), page, sheet, cell, line, part."""
    rows: list[Row] = []
    path = str(loc.get("path") or "")
    if path:
        outer, *members = path.split("!")
        rows.append((N_("File"), outer))
        for member in members:
            rows.append((N_("Archive member"), member))
    for key, label in (("page", N_("Page")), ("sheet", N_("Sheet")), ("cell", N_("Cell")),
                       ("line", N_("Line")), ("part", N_("Part"))):
        if loc.get(key) not in (None, ""):
            rows.append((label, str(loc[key])))
    if loc.get("start") is not None and loc.get("end") is not None:
        rows.append((N_("Offsets"), f"{loc['start']}–{loc['end']}"))
    return rows


def _size(n: Any) -> Msg | str:
    """A byte count, grouped for the reader's locale ("1,000 B", "1,000 字节")."""
    return Msg(N_("%(bytes)s B"), bytes=n) if isinstance(n, int) and not isinstance(n, bool) else ""


def event_facts(data: dict[str, Any] | None, alert: Alert) -> list[Row]:
    """Where it happened: host, user, process, file, device or destination."""
    data = data or {}
    rows: list[Row] = [(N_("Host"), alert.host or data.get("host") or "")]
    user = alert.user or data.get("user")
    if user:
        rows.append((N_("User"), user))
    proc = data.get("process") or {}
    if proc:
        name, pid = proc.get("name"), proc.get("pid")
        if pid:  # an identifier: passed as text so no locale groups its digits
            rows.append((N_("Process"), Msg(N_("%(name)s (pid %(pid)s)"), name=str(name), pid=str(pid)) if name
                         else Msg(N_("pid %(pid)s"), pid=str(pid))))
        elif name:
            rows.append((N_("Process"), str(name)))
        if proc.get("exe"):
            rows.append((N_("Executable"), str(proc["exe"])))
    f = data.get("file") or {}
    if f or alert.path:
        rows.append((N_("File"), str(f.get("path") or alert.path or "")))
        if f.get("old_path"):
            rows.append((N_("Previous path"), str(f["old_path"])))
        if f.get("size") is not None:
            rows.append((N_("Size"), _size(f["size"])))
        if f.get("media_type"):
            rows.append((N_("Content type"), str(f["media_type"])))
        if f.get("disguised"):
            rows.append((N_("Disguised"), Msg(N_("yes: the name does not match the content"))))
    dev = data.get("device") or alert.device or {}
    if dev:
        desc = " ".join(str(dev[k]) for k in ("vendor", "model") if dev.get(k))
        ids = ":".join(str(dev[k]) for k in ("vendor_id", "product_id") if dev.get(k))
        rows.append((N_("Device"), " ".join(x for x in (desc, f"[{ids}]" if ids else "") if x)))
        for key, label in (("serial", N_("Serial")), ("label", N_("Volume label")),
                           ("mountpoint", N_("Mount point"))):
            if dev.get(key):
                rows.append((label, str(dev[key])))
        policy = dev.get("policy")
        if policy:
            known = DEVICE_POLICIES.get(str(policy))
            rows.append((N_("Device policy"), Msg(known) if known else str(policy)))
    dest = data.get("destination") or alert.destination or {}
    if dest:
        where = dest.get("host") or dest.get("ip") or ""
        if dest.get("port"):
            where = f"{where}:{dest['port']}"
        rows.append((N_("Destination"), str(where)))
        if dest.get("category"):
            rows.append((N_("Destination category"), str(dest["category"])))
        if dest.get("bytes_sent") is not None:
            rows.append((N_("Bytes sent"), _size(dest["bytes_sent"])))
    return rows
