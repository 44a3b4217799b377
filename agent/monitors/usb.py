"""USB devices attached or detached, whether or not anything gets mounted.

A stick plugged in but never mounted, a phone in MTP mode or a USB network
adapter never shows in the mount table; this monitor reports them from the
USB bus itself. Two sources:

* **udev** (pyudev ``Monitor`` on the ``usb`` subsystem, ``usb_device``
  only: interfaces and the block devices below a stick belong to the same
  plug-in) when a udev daemon runs (``/run/udev/control`` exists): events
  arrive as the kernel announces them;
* **sysfs polling** otherwise (containers, minimal hosts, this test machine):
  ``/sys/bus/usb/devices`` listed every ``interval`` seconds: one directory
  listing and one ``devnum`` read per device; the other attributes are read
  only for devices that are new.

Both emit :class:`agent.events.UsbChange` with the identity the device
policy matches on (``vendor_id``, ``product_id``, ``serial``, ``vendor``,
``model``) plus ``kind`` (storage, imaging/MTP, network, ...) from the
interface classes.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Any

from agent.events import MonitorState, UsbChange

log = logging.getLogger("agent.usb")

USB_DEVICES = "/sys/bus/usb/devices"
UDEV_CONTROL = "/run/udev/control"

# USB interface class -> what the device is to the user (base class codes, usb.org).
_KINDS = {
    "08": "storage", "06": "imaging",  # 06: still image, i.e. MTP/PTP phones and cameras
    "02": "network", "0a": "network", "e0": "network",  # CDC (ECM/NCM), CDC data, RNDIS (wireless controller)
    "03": "hid", "01": "audio", "0e": "video", "07": "printer", "09": "hub", "0b": "smartcard",
}
_KIND_ORDER = ("storage", "imaging", "network", "printer", "smartcard", "audio", "video", "hid", "hub")


def _read(path: str) -> str | None:
    try:
        with open(path, errors="replace") as f:
            return f.read().strip() or None
    except OSError:
        return None


def usb_identity(devdir: str) -> dict[str, Any]:
    """Identity of one USB device from its sysfs directory (``/sys/bus/usb/devices/1-2``)."""
    ident: dict[str, Any] = {
        "vendor_id": _read(f"{devdir}/idVendor"), "product_id": _read(f"{devdir}/idProduct"),
        "serial": _read(f"{devdir}/serial"), "vendor": _read(f"{devdir}/manufacturer"),
        "model": _read(f"{devdir}/product"), "bus": "usb",
    }
    classes = set()
    name = os.path.basename(devdir)
    try:
        entries = os.listdir(devdir)
    except OSError:
        entries = []
    for entry in entries:  # interfaces are children named "<device>:<config>.<number>"
        if entry.startswith(name + ":"):
            c = _read(f"{devdir}/{entry}/bInterfaceClass")
            if c:
                classes.add(c.lower())
    device_class = (_read(f"{devdir}/bDeviceClass") or "").lower()
    if device_class and device_class != "00":
        classes.add(device_class)
    kinds = {_KINDS.get(c, "other") for c in classes}
    ident["kind"] = next((k for k in _KIND_ORDER if k in kinds), "other" if kinds else None)
    return {k: v for k, v in ident.items() if v is not None}


def _is_device(name: str) -> bool:
    """Devices, not interfaces ("1-1:1.0") nor root hubs ("usb1", the controller itself)."""
    return ":" not in name and not name.startswith("usb")


class UsbMonitor:
    name = "usb"

    def __init__(self, out: "queue.Queue[object]", *, interval: float = 1.0, use_udev: bool | None = None,
                 known: dict[str, tuple[str, dict[str, Any]]] | None = None) -> None:
        """``use_udev`` None: udev when its daemon runs, else sysfs polling. ``known``: devices a
        previous instance already reported (name -> (instance, identity)), not reported again."""
        self.out = out
        self.drops = 0  # blocking puts: nothing is dropped
        self.interval = interval
        self.use_udev = os.path.exists(UDEV_CONTROL) if use_udev is None else use_udev
        self.present: dict[str, tuple[str, dict[str, Any]]] = dict(known or {})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def mode(self) -> str:
        return "udev" if self.use_udev else "sysfs"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="usb", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)

    # -- shared -------------------------------------------------------------------
    def _attach(self, name: str, instance: str, ident: dict[str, Any], at_start: bool) -> None:
        old = self.present.get(name)
        if old is not None and old[0] == instance:
            return
        if old is not None:  # another device on the same port between two looks: the old one left
            self._detach(name)
        self.present[name] = (instance, ident)
        self.out.put(UsbChange("attach", name, ident, time.time(), at_start))

    def _detach(self, name: str) -> None:
        old = self.present.pop(name, None)
        if old is not None:
            self.out.put(UsbChange("detach", name, old[1], time.time()))

    # -- sysfs polling ------------------------------------------------------------
    def poll_sysfs(self, at_start: bool = False) -> None:
        try:
            names = {n for n in os.listdir(USB_DEVICES) if _is_device(n)}
        except FileNotFoundError:
            names = set()  # no USB controller at all (or every device gone from a fake sysfs)
        for name in sorted(names):
            devdir = f"{USB_DEVICES}/{name}"
            # devnum changes on every plug-in (the bus is in the name): a device swapped on one port
            # between two polls is seen. One small read per device and poll.
            instance = _read(f"{devdir}/devnum") or ""
            old = self.present.get(name)
            if old is None or old[0] != instance:
                ident = usb_identity(devdir)
                if "vendor_id" in ident:  # else half-created: the kernel fills attributes after the directory
                    self._attach(name, instance, ident, at_start)
        for name in [n for n in self.present if n not in names]:
            self._detach(name)

    # -- udev -------------------------------------------------------------------------
    def _udev_loop(self) -> None:
        import pyudev

        context = pyudev.Context()
        monitor = pyudev.Monitor.from_netlink(context)
        monitor.filter_by("usb", "usb_device")
        monitor.start()  # listen before enumerating: nothing plugged in between is missed
        seen = set()
        for dev in context.list_devices(subsystem="usb", DEVTYPE="usb_device"):
            if _is_device(dev.sys_name):
                seen.add(dev.sys_name)
                self._attach(dev.sys_name, dev.device_path, usb_identity(dev.sys_path), True)
        for name in [n for n in self.present if n not in seen]:
            self._detach(name)
        while not self._stop.is_set():
            dev = monitor.poll(timeout=0.5)
            if dev is None or not _is_device(dev.sys_name):
                continue
            if dev.action == "add":
                self._attach(dev.sys_name, dev.device_path, usb_identity(dev.sys_path), False)
            elif dev.action == "remove":
                self._detach(dev.sys_name)

    def _run(self) -> None:
        self.out.put(MonitorState(self.name, "ok", None, time.time()))
        if self.use_udev:
            try:
                self._udev_loop()
                return
            except Exception as e:  # libudev missing or the netlink socket refused: poll sysfs instead
                log.warning("udev monitor unavailable, polling sysfs", extra={"ctx": {"error": str(e)[:200]}})
                self.use_udev = False
        at_start = True
        while True:
            try:
                self.poll_sysfs(at_start)
            except Exception as e:  # a broken look must not kill the thread
                log.exception("usb poll failed")
                self.out.put(MonitorState(self.name, "degraded", f"usb poll failed: {type(e).__name__}", time.time()))
            at_start = False
            if self._stop.wait(self.interval):
                return
