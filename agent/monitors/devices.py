"""Removable media: mounts from /proc/self/mountinfo (woken by POLLPRI),
identity from udev (pyudev) when present, else sysfs and blkid.

Emits :class:`agent.events.DeviceChange` for every mount and unmount, with
``removable`` decided by, in order: a mountpoint declared removable in the
config (``devices.removable_mounts``: odd hardware, and the test seam since
this machine has no USB), udev ``ID_BUS=usb``, the sysfs ``removable`` flag,
or a USB ancestor in sysfs.
"""

from __future__ import annotations

import logging
import os
import queue
import select
import subprocess
import threading
import time
from typing import Any

from agent.events import DeviceChange, MonitorState
from agent.monitors.usb import UsbMonitor

log = logging.getLogger("agent.devices")

MOUNTINFO = "/proc/self/mountinfo"
_PSEUDO = {"proc", "sysfs", "cgroup", "cgroup2", "tmpfs", "devtmpfs", "devpts", "mqueue", "overlay", "securityfs",
           "debugfs", "tracefs", "pstore", "bpf", "configfs", "fusectl", "hugetlbfs", "autofs", "binfmt_misc", "nsfs", "rpc_pipefs"}


def _unescape(s: str) -> str:
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def read_mounts(path: str = MOUNTINFO) -> dict[str, tuple[str, str]]:
    """mountpoint -> (source, fstype)."""
    mounts: dict[str, tuple[str, str]] = {}
    with open(path) as f:
        for line in f:
            left, _, right = line.partition(" - ")
            parts, rparts = left.split(), right.split()
            if len(parts) < 5 or len(rparts) < 2:
                continue
            mounts[_unescape(parts[4])] = (_unescape(rparts[1]), rparts[0])
    return mounts


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _udev_properties(name: str) -> dict[str, str]:
    try:
        import pyudev

        dev = pyudev.Devices.from_name(pyudev.Context(), "block", name)
        props = dict(dev.properties)
        parent = dev.find_parent("usb", "usb_device")
        if parent is not None:
            for key in ("idVendor", "idProduct", "serial", "manufacturer", "product"):
                value = parent.attributes.get(key)
                if value is not None:
                    props.setdefault(f"SYSFS_{key}", value.decode(errors="replace").strip())
        return props
    except Exception:  # no udev, device gone, not a block device: identity falls back to sysfs
        return {}


def _blkid(source: str) -> dict[str, str]:
    try:
        out = subprocess.run(["blkid", "-o", "export", source], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def identify(source: str) -> dict[str, Any]:
    """vendor, model, serial, fs UUID and label, size of a block device (best effort)."""
    ident: dict[str, Any] = {}
    real = os.path.realpath(source)
    name = os.path.basename(real)
    sysdir = f"/sys/class/block/{name}"
    props = _udev_properties(name)
    if props:
        ident.update(
            vendor_id=props.get("ID_VENDOR_ID") or props.get("SYSFS_idVendor"),
            product_id=props.get("ID_MODEL_ID") or props.get("SYSFS_idProduct"),
            vendor=props.get("ID_VENDOR") or props.get("SYSFS_manufacturer"),
            model=props.get("ID_MODEL") or props.get("SYSFS_product"),
            serial=props.get("ID_SERIAL_SHORT") or props.get("SYSFS_serial"),
            fs_uuid=props.get("ID_FS_UUID"),
            label=props.get("ID_FS_LABEL"),
            bus=props.get("ID_BUS"),
        )
    if os.path.isdir(sysdir):
        size = _read(f"{sysdir}/size")
        if size and size.isdigit():
            ident.setdefault("size", int(size) * 512)
        # Walk up the sysfs device tree to the USB device carrying idVendor/idProduct.
        node = os.path.realpath(sysdir)
        while node and node != "/sys" and node != "/":
            if os.path.exists(f"{node}/idVendor"):
                ident["vendor_id"] = ident.get("vendor_id") or _read(f"{node}/idVendor")
                ident["product_id"] = ident.get("product_id") or _read(f"{node}/idProduct")
                ident["serial"] = ident.get("serial") or _read(f"{node}/serial")
                ident["vendor"] = ident.get("vendor") or _read(f"{node}/manufacturer")
                ident["model"] = ident.get("model") or _read(f"{node}/product")
                ident["bus"] = ident.get("bus") or "usb"
                break
            node = os.path.dirname(node)
        disk = sysdir if os.path.exists(f"{sysdir}/removable") else os.path.dirname(os.path.realpath(sysdir))
        ident["removable_flag"] = _read(f"{disk}/removable") == "1"
    if not ident.get("fs_uuid") and source.startswith("/dev/") and os.geteuid() == 0:
        b = _blkid(source)
        ident["fs_uuid"] = b.get("UUID")
        ident["label"] = ident.get("label") or b.get("LABEL")
    if "size" not in ident:
        ident["size"] = None
    return {k: v for k, v in ident.items() if v is not None}


def device_key(ident: dict[str, Any]) -> str:
    """A stable key for the registry: USB ids + serial when known, else the filesystem UUID."""
    if ident.get("serial"):
        return f"usb:{ident.get('vendor_id', '')}:{ident.get('product_id', '')}:{ident['serial']}"
    if ident.get("fs_uuid"):
        return f"fs:{ident['fs_uuid']}"
    if ident.get("vendor_id") and not ident.get("label"):  # a USB device without serial nor filesystem: its model
        return f"usb:{ident['vendor_id']}:{ident.get('product_id', '')}:"
    return f"label:{ident.get('label', '')}:{ident.get('size', '')}"


class DevicesMonitor:
    name = "devices"

    def __init__(self, out: "queue.Queue[object]", declared_removable: tuple[str, ...], mountinfo: str = MOUNTINFO,
                 known_mounts: dict[str, tuple[str, str]] | None = None, usb: UsbMonitor | None = None) -> None:
        """``known_mounts``: the mount table a previous instance already reported (a SIGHUP reload
        carries it over, so mounted media are not reported, counted and remounted again).
        ``usb``: the USB attach/detach monitor started and stopped with this one (default: udev
        when its daemon runs, else sysfs polling every second)."""
        self.out = out
        self.drops = 0  # blocking puts: nothing is dropped
        self.declared = declared_removable
        self.mountinfo = mountinfo
        self.mounts: dict[str, tuple[str, str]] = dict(known_mounts or {})
        self.usb = usb if usb is not None else UsbMonitor(out)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def is_declared(self, mountpoint: str) -> bool:
        return any(mountpoint == d or mountpoint.startswith(d.rstrip("/") + "/") for d in self.declared)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="devices", daemon=True)
        self._thread.start()
        self.usb.start()

    def stop(self) -> None:
        self._stop.set()
        self.usb.stop()
        if self._thread is not None:
            self._thread.join(timeout=3)

    def _classify(self, mountpoint: str, source: str, fstype: str) -> tuple[bool, dict[str, Any]]:
        declared = self.is_declared(mountpoint)
        if not declared and (fstype in _PSEUDO or not source.startswith("/dev/")):
            return False, {}
        ident = identify(source) if source.startswith("/dev/") else {}
        removable = declared or ident.get("bus") == "usb" or bool(ident.get("removable_flag"))
        ident.pop("removable_flag", None)
        if declared:
            ident["declared_removable"] = True
        return removable, ident

    def _diff(self, initial: bool) -> None:
        try:
            now_mounts = read_mounts(self.mountinfo)
        except OSError as e:
            self.out.put(MonitorState(self.name, "degraded", f"cannot read {self.mountinfo}: {e.strerror}", time.time()))
            return
        now = time.time()
        for mp, (src, fstype) in now_mounts.items():
            if self.mounts.get(mp) == (src, fstype):
                continue
            removable, ident = self._classify(mp, src, fstype)
            if removable:
                self.out.put(DeviceChange("mount", mp, src, fstype, True, ident, now))
        for mp, (src, fstype) in self.mounts.items():
            if mp not in now_mounts:
                removable = self.is_declared(mp) or src.startswith("/dev/")
                self.out.put(DeviceChange("unmount", mp, src, fstype, removable, {}, now))
        self.mounts = now_mounts

    def _run(self) -> None:
        try:
            fd = os.open(self.mountinfo, os.O_RDONLY)
        except OSError as e:
            self.out.put(MonitorState(self.name, "off", f"cannot open {self.mountinfo}: {e.strerror}", time.time()))
            return
        poller = select.poll()
        # The kernel flags mount-table changes on mountinfo with POLLPRI|POLLERR.
        poller.register(fd, select.POLLPRI | select.POLLERR)
        self.out.put(MonitorState(self.name, "ok", None, time.time()))
        self._diff(initial=True)
        try:
            while not self._stop.is_set():
                if poller.poll(500):
                    os.lseek(fd, 0, os.SEEK_SET)
                    os.read(fd, 1 << 16)  # re-arm the notification
                    self._diff(initial=False)
        finally:
            os.close(fd)
