"""Removable media: a real ext4 loop-device image, declared removable through
``devices.removable_mounts`` (this machine has no USB), and umockdev for the
udev identity of a USB stick."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.agent.conftest import REPO, SENSITIVE, events_of, needs_root, spooled, wait_for, write_config

FS_UUID = str(uuid.uuid4())


@pytest.fixture
def stick(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A 16 MiB ext4 image labelled LWSTICK and an (unmounted) mountpoint for it."""
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4"):
        pytest.skip("needs root and e2fsprogs for a loop-mounted ext4 image")
    img, mnt = tmp_path / "stick.img", tmp_path / "media" / "stick"
    mnt.mkdir(parents=True)
    subprocess.run(["truncate", "-s", "16M", str(img)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "LWSTICK", "-U", FS_UUID, str(img)], check=True)
    yield img, mnt
    if os.path.ismount(mnt):
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _policy(tmp_path: Path, rules: list, revoked: list | None = None) -> str:
    p = tmp_path / "devices.yaml"
    p.write_text(yaml.safe_dump({"default": "alert", "rules": rules, "revoked": revoked or []}))
    return str(p)


def test_sensitive_file_copied_to_a_stick_is_reported_on_the_removable_channel(tmp_path: Path, stick, run_agent) -> None:
    img, mnt = stick
    cfg = write_config(tmp_path, devices={"enabled": True, "removable_mounts": [str(mnt)],
                                          "policy": _policy(tmp_path, [{"label": "LWSTICK", "action": "alert"}])})
    run_agent(cfg)
    subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], check=True)
    mount = wait_for(lambda: events_of(cfg.state_dir, "device.mount"))[0]
    dev = mount["device"]
    assert dev["fs_uuid"] == FS_UUID and dev["label"] == "LWSTICK" and dev["size"] == 16 * 1024 * 1024
    assert dev["policy"] == "alert" and mount["channel"] == "removable"
    assert mount["attributes"]["first_seen"] is True and mount["attributes"]["declared_removable"] is True
    shutil.copy(Path(REPO, "configs", "agent.yaml"), mnt / "harmless.yaml")
    (mnt / "export.txt").write_bytes(SENSITIVE)
    ev = wait_for(lambda: events_of(cfg.state_dir, "file.create"))[0]
    assert ev["channel"] == "removable" and ev["file"]["path"] == str(mnt / "export.txt")
    assert ev["device"]["fs_uuid"] == FS_UUID and ev["findings"][0]["detector"] == "pii.cn_resident_id"
    subprocess.run(["umount", str(mnt)], check=True)
    wait_for(lambda: events_of(cfg.state_dir, "device.unmount"))
    assert not events_of(cfg.state_dir, "file.delete")  # an unmount is not a deletion
    # Seen again: the registry knows it.
    subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], check=True)
    again = wait_for(lambda: events_of(cfg.state_dir, "device.mount")[1:])[0]
    assert again["attributes"]["first_seen"] is False and again["attributes"]["sightings"] == 2


def test_blocked_stick_is_critical_and_remounted_read_only(tmp_path: Path, stick, run_agent) -> None:
    img, mnt = stick
    cfg = write_config(tmp_path, devices={"enabled": True, "removable_mounts": [str(mnt)],
                                          "policy": _policy(tmp_path, [{"fs_uuid": FS_UUID, "action": "block"}])})
    run_agent(cfg)
    subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], check=True)
    ev = wait_for(lambda: events_of(cfg.state_dir, "device.mount"))[0]
    assert ev["device"]["policy"] == "block" and ev["attributes"]["severity"] == "critical"
    assert ev["attributes"]["remounted_readonly"] is True
    with pytest.raises(OSError) as e:
        (mnt / "leak.txt").write_bytes(SENSITIVE)
    assert e.value.errno == 30  # EROFS


def test_a_device_reported_lost_raises_critical_when_seen_again(tmp_path: Path, stick, run_agent) -> None:
    img, mnt = stick
    policy = _policy(tmp_path, [{"label": "LWSTICK", "action": "allow"}],
                     revoked=[{"fs_uuid": FS_UUID, "reason": "reported lost, ticket SEC-1"}])
    cfg = write_config(tmp_path, devices={"enabled": True, "removable_mounts": [str(mnt)], "policy": policy,
                                          "remount_readonly": False})
    run_agent(cfg)
    subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], check=True)
    ev = wait_for(lambda: events_of(cfg.state_dir, "device.mount"))[0]
    assert ev["attributes"]["revoked"] == "reported lost, ticket SEC-1"
    assert ev["attributes"]["severity"] == "critical" and ev["device"]["policy"] == "block"
    assert ev["attributes"]["remount_error"] == "disabled by devices.remount_readonly"


STICK = """\
P: /devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1
N: sdb1
E: DEVNAME=/dev/sdb1
E: DEVTYPE=partition
E: SUBSYSTEM=block
E: ID_BUS=usb
E: ID_VENDOR_ID=0781
E: ID_MODEL_ID=5567
E: ID_VENDOR=SanDisk
E: ID_MODEL=Cruzer_Blade
E: ID_SERIAL_SHORT=4C530001230517116243
E: ID_FS_UUID=1234-ABCD
E: ID_FS_LABEL=LWSTICK
A: partition=1
A: size=30029824

P: /devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb
N: sdb
E: DEVNAME=/dev/sdb
E: DEVTYPE=disk
E: SUBSYSTEM=block
E: ID_BUS=usb
A: removable=1
A: size=30031872

P: /devices/pci0000:00/0000:00:14.0/usb1/1-1
N: bus/usb/001/002
E: DEVNAME=/dev/bus/usb/001/002
E: DEVTYPE=usb_device
E: SUBSYSTEM=usb
A: idVendor=0781
A: idProduct=5567
A: serial=4C530001230517116243
A: manufacturer=SanDisk
A: product=Cruzer Blade
"""


def test_udev_identity_of_a_usb_stick_via_umockdev(tmp_path: Path) -> None:
    if not shutil.which("umockdev-run"):
        pytest.skip("umockdev-run not installed (Debian package umockdev)")
    desc = tmp_path / "stick.umockdev"
    desc.write_text(STICK)
    code = (
        "import json; from agent.monitors.devices import DevicesMonitor, identify, device_key;"
        "from agent.devicepolicy import DevicePolicy;"
        "m = DevicesMonitor(None, ());"
        "removable, ident = m._classify('/media/usb', '/dev/sdb1', 'vfat');"
        f"p = DevicePolicy.load({str(REPO / 'configs' / 'devices.yaml')!r});"
        "print(json.dumps({'removable': removable, 'ident': ident, 'key': device_key(ident), 'action': p.decide(ident).action}))"
    )
    out = subprocess.run(["umockdev-run", "-d", str(desc), "--", sys.executable, "-c", code],
                         capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["removable"] is True  # udev says ID_BUS=usb: no declaration needed
    ident = got["ident"]
    assert (ident["vendor_id"], ident["product_id"], ident["serial"]) == ("0781", "5567", "4C530001230517116243")
    assert (ident["vendor"], ident["fs_uuid"], ident["label"], ident["size"]) == ("SanDisk", "1234-ABCD", "LWSTICK", 30029824 * 512)
    assert got["key"] == "usb:0781:5567:4C530001230517116243"
    assert got["action"] == "alert"  # the shipped policy's default for unknown sticks


def test_reloads_do_not_report_a_mounted_stick_again(tmp_path: Path, stick, run_agent) -> None:
    """SIGHUP used to rebuild the device monitor: each reload re-reported (and re-counted, and
    remounted) every mounted medium. Mounted media carry over; the stick stays watched."""
    img, mnt = stick
    policy = _policy(tmp_path, [], revoked=[{"fs_uuid": FS_UUID, "reason": "reported lost"}])
    cfg = write_config(tmp_path, devices={"enabled": True, "removable_mounts": [str(mnt)], "policy": policy})
    agent = run_agent(cfg)
    subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], check=True)
    first = wait_for(lambda: events_of(cfg.state_dir, "device.mount"))[0]["attributes"]
    assert first["sightings"] == 1 and first["remounted_readonly"] is True
    subprocess.run(["mount", "-o", "remount,rw", str(mnt)], check=True)  # the owner re-enables writing
    assert agent.reload() and agent.reload()
    wait_for(lambda: agent.pipeline.idle.is_set())
    assert len(events_of(cfg.state_dir, "device.mount")) == 1  # not reported, counted or remounted again
    assert "ro" not in _mount_options(mnt)
    (mnt / "copy.txt").write_bytes(SENSITIVE)  # still watched after the reloads, on the removable channel
    ev = wait_for(lambda: [e for e in events_of(cfg.state_dir) if e["kind"] in ("file.create", "file.write")])[0]
    assert ev["channel"] == "removable" and ev["device"]["fs_uuid"] == FS_UUID
    subprocess.run(["umount", str(mnt)], check=True)
    wait_for(lambda: events_of(cfg.state_dir, "device.unmount"))


def _mount_options(mnt: Path) -> list[str]:
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        parts = line.split()
        if parts[4] == str(mnt):
            return parts[5].split(",")
    return []


# -- USB attach/detach without a mount (umockdev testbed, sysfs polling) --------------------------
# No udev daemon runs here, so the agent's USB monitor polls /sys/bus/usb/devices: umockdev's
# preload library (umockdev-wrapper) redirects /sys to a testbed that the scenario below fills
# and empties while a real agent runs. The block device under the fake stick is a real loop
# device with a real ext4 mount, so attach -> mount -> unmount -> detach runs end to end.

STICK_SERIAL = "4C530001230517116243"


def usb_scenario(tmp: str, img: str, mnt: str) -> None:
    """Runs inside umockdev-wrapper (a child process): plug a stick, mount it, unmount, unplug; plug a
    phone (MTP) and a USB network adapter, never mounted, unplug the phone."""
    sys.path.append("/usr/lib/python3/dist-packages")  # GI bindings of Debian's gir1.2-umockdev-1.0
    import gi

    gi.require_version("UMockdev", "1.0")
    from gi.repository import UMockdev

    from agent.daemon import Agent

    plain_env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "UMOCKDEV_DIR")}

    def run(*cmd: str) -> str:
        return subprocess.run(cmd, check=True, capture_output=True, text=True, env=plain_env).stdout.strip()

    tb = UMockdev.Testbed.new()
    cfg = write_config(Path(tmp), devices={"enabled": True, "policy": str(REPO / "configs" / "devices.yaml")})
    agent = Agent(cfg)
    agent.start()
    try:
        def attached(n: int) -> list:
            return wait_for(lambda: events_of(cfg.state_dir, "device.attach")[n - 1:])

        stick = tb.add_device("usb", "usb1/1-1", None, [
            "idVendor", "0781", "idProduct", "5567", "serial", STICK_SERIAL, "manufacturer", "SanDisk",
            "product", "Cruzer Blade", "busnum", "1", "devnum", "7"], ["DEVTYPE", "usb_device"])
        iface = tb.add_device("usb", "1-1:1.0", stick, ["bInterfaceClass", "08"], ["DEVTYPE", "usb_interface"])
        attached(1)
        loop = run("losetup", "-f", "--show", img)
        try:
            tb.add_device("block", os.path.basename(loop), iface, ["size", "32768", "removable", "1"], [
                "DEVNAME", loop, "DEVTYPE", "disk", "ID_BUS", "usb", "ID_VENDOR_ID", "0781", "ID_MODEL_ID", "5567",
                "ID_SERIAL_SHORT", STICK_SERIAL, "ID_VENDOR", "SanDisk", "ID_MODEL", "Cruzer_Blade"])
            run("mount", loop, mnt)
            wait_for(lambda: events_of(cfg.state_dir, "device.mount"))
            run("umount", mnt)
        finally:
            run("losetup", "-d", loop)
        wait_for(lambda: events_of(cfg.state_dir, "device.unmount"))
        tb.remove_device(stick)
        wait_for(lambda: events_of(cfg.state_dir, "device.detach"))
        phone = tb.add_device("usb", "usb1/1-2", None, [
            "idVendor", "18d1", "idProduct", "4ee1", "serial", "0A1B2C3D", "manufacturer", "Google",
            "product", "Pixel 7", "busnum", "1", "devnum", "8"], ["DEVTYPE", "usb_device"])
        tb.add_device("usb", "1-2:1.0", phone, ["bInterfaceClass", "06"], ["DEVTYPE", "usb_interface"])
        nic = tb.add_device("usb", "usb1/1-3", None, [
            "idVendor", "0b95", "idProduct", "1790", "manufacturer", "ASIX", "product", "AX88179",
            "busnum", "1", "devnum", "9"], ["DEVTYPE", "usb_device"])
        tb.add_device("usb", "1-3:1.0", nic, ["bInterfaceClass", "02"], ["DEVTYPE", "usb_interface"])
        attached(3)
        tb.remove_device(phone)
        wait_for(lambda: len(events_of(cfg.state_dir, "device.detach")) == 2)
        time.sleep(1.5)  # a further poll or two: nothing else may be reported
    finally:
        agent.stop(drain_timeout=0)
    # Restarted with the adapter still plugged in and a keyboard plugged while the agent was down.
    kbd = tb.add_device("usb", "usb1/1-6", None, ["idVendor", "046d", "idProduct", "c31c", "product", "Keyboard K120",
                                                  "busnum", "1", "devnum", "10"], ["DEVTYPE", "usb_device"])
    tb.add_device("usb", "1-6:1.0", kbd, ["bInterfaceClass", "03"], ["DEVTYPE", "usb_interface"])
    agent = Agent(cfg)
    agent.start()
    try:
        wait_for(lambda: [e for e in events_of(cfg.state_dir, "device.attach") if e["device"]["vendor_id"] == "046d"])
        time.sleep(1.5)
    finally:
        agent.stop(drain_timeout=0)


@pytest.fixture(scope="module")
def usb_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("umockdev-wrapper") or not os.path.exists("/usr/lib/python3/dist-packages/gi"):
        pytest.skip("needs umockdev-wrapper and python3-gi with gir1.2-umockdev-1.0 (Debian)")
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4"):
        pytest.skip("needs root and e2fsprogs for a loop-mounted ext4 image")
    tmp = tmp_path_factory.mktemp("usb")
    img, mnt = tmp / "stick.img", tmp / "media"
    mnt.mkdir()
    subprocess.run(["truncate", "-s", "16M", str(img)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "LWSTICK", str(img)], check=True)
    code = f"from tests.agent.test_devices import usb_scenario; usb_scenario({str(tmp)!r}, {str(img)!r}, {str(mnt)!r})"
    out = subprocess.run(["umockdev-wrapper", sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=90, cwd=REPO)
    if os.path.ismount(mnt):
        subprocess.run(["umount", "-l", str(mnt)], check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return tmp / "state"


def test_usb_stick_attach_then_mount_is_one_device_and_one_sighting(usb_run: Path) -> None:
    attach = [e for e in events_of(usb_run, "device.attach") if e["device"].get("serial") == STICK_SERIAL]
    assert len(attach) == 1  # the mount did not report a second attach
    a = attach[0]
    assert (a["device"]["vendor_id"], a["device"]["product_id"]) == ("0781", "5567")
    assert (a["device"]["vendor"], a["device"]["model"]) == ("SanDisk", "Cruzer Blade")
    assert a["device"]["policy"] == "alert" and a["attributes"]["severity"] == "high"  # shipped default for unknown sticks
    assert a["attributes"]["usb_kind"] == "storage" and a["attributes"]["first_seen"] is True
    assert a["channel"] == "removable" and "mountpoint" not in a["device"]
    mount = events_of(usb_run, "device.mount")
    assert len(mount) == 1
    m = mount[0]
    assert (m["device"]["vendor_id"], m["device"]["product_id"], m["device"]["serial"]) == ("0781", "5567", STICK_SERIAL)
    assert m["device"]["label"] == "LWSTICK" and m["device"]["mountpoint"].endswith("/media")
    assert m["attributes"]["sightings"] == 1 and m["attributes"]["usb_port"] == "1-1"
    assert "declared_removable" not in m["attributes"]  # removable because udev (the testbed) says ID_BUS=usb
    kinds = [e["kind"] for e in spooled(usb_run) if e["kind"].startswith("device.")
             and (e["device"] or {}).get("serial") == STICK_SERIAL]
    assert kinds == ["device.attach", "device.mount", "device.unmount", "device.detach"]
    detach = [e for e in events_of(usb_run, "device.detach") if e["device"].get("serial") == STICK_SERIAL]
    assert len(detach) == 1 and detach[0]["attributes"]["usb_port"] == "1-1"
    db = sqlite3.connect(usb_run / "index.db")
    rows = db.execute("SELECT key, times FROM devices").fetchall()
    db.close()
    assert (f"usb:0781:5567:{STICK_SERIAL}", 1) in rows and len([r for r in rows if STICK_SERIAL in r[0]]) == 1


def test_usb_phone_and_network_adapter_reported_without_any_mount(usb_run: Path) -> None:
    by_vendor = {e["device"]["vendor_id"]: e for e in events_of(usb_run, "device.attach")}
    phone, nic = by_vendor["18d1"], by_vendor["0b95"]
    assert phone["device"]["policy"] == "block" and phone["attributes"]["severity"] == "critical"
    assert phone["attributes"]["rule"] == "smartphones in mass-storage mode" and phone["attributes"]["usb_kind"] == "imaging"
    assert (phone["device"]["serial"], phone["device"]["model"]) == ("0A1B2C3D", "Pixel 7")
    assert nic["device"]["policy"] == "alert" and nic["attributes"]["usb_kind"] == "network"
    assert "serial" not in nic["device"] and nic["device"]["vendor"] == "ASIX"
    gone = events_of(usb_run, "device.detach")
    assert [e["device"]["vendor_id"] for e in gone] == ["0781", "18d1"]  # the adapter is still plugged in
    assert gone[1]["device"]["policy"] == "block" and gone[1]["attributes"]["usb_port"] == "1-2"


def test_usb_devices_present_at_restart_are_reported_only_when_new(usb_run: Path) -> None:
    attaches = events_of(usb_run, "device.attach")
    assert [e["device"]["vendor_id"] for e in attaches] == ["0781", "18d1", "0b95", "046d"]  # not the adapter again
    kbd = attaches[-1]["attributes"]
    assert kbd["attached_at_start"] is True and kbd["usb_kind"] == "hid" and kbd["first_seen"] is True
    assert not any(e["attributes"]["attached_at_start"] for e in attaches[:3])


def udev_scenario() -> None:
    """Inside umockdev-wrapper: the udev source (pyudev Monitor), fed by the testbed's uevents."""
    import json
    import queue

    sys.path.append("/usr/lib/python3/dist-packages")
    import gi

    gi.require_version("UMockdev", "1.0")
    from gi.repository import UMockdev

    from agent.events import UsbChange
    from agent.monitors.usb import UsbMonitor

    tb = UMockdev.Testbed.new()
    tb.add_device("usb", "usb1/1-4", None, ["idVendor", "0951", "idProduct", "1666", "serial", "LW-ISSUED-7",
                                            "busnum", "1", "devnum", "3"], ["DEVTYPE", "usb_device"])
    q: queue.Queue[object] = queue.Queue()
    m = UsbMonitor(q, use_udev=True)
    m.start()
    try:
        wait_for(lambda: m.present)  # enumerated at start
        dev = tb.add_device("usb", "usb1/1-5", None, ["idVendor", "18d1", "idProduct", "4ee1", "busnum", "1", "devnum", "4"],
                            ["DEVTYPE", "usb_device"])
        tb.uevent(dev, "add")
        wait_for(lambda: "1-5" in m.present)
        tb.uevent(dev, "remove")
        tb.remove_device(dev)
        wait_for(lambda: "1-5" not in m.present)
    finally:
        m.stop()
    changes = [x for x in list(q.queue) if isinstance(x, UsbChange)]
    print(json.dumps({"mode": m.mode, "changes": [[c.action, c.sysname, c.identity.get("vendor_id"), c.at_start] for c in changes]}))


def test_usb_monitor_follows_udev_events_where_udev_runs() -> None:
    if not shutil.which("umockdev-wrapper") or not os.path.exists("/usr/lib/python3/dist-packages/gi"):
        pytest.skip("needs umockdev-wrapper and python3-gi with gir1.2-umockdev-1.0 (Debian)")
    out = subprocess.run(["umockdev-wrapper", sys.executable, "-c",
                          "from tests.agent.test_devices import udev_scenario; udev_scenario()"],
                         capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["mode"] == "udev"  # not fallen back to polling
    assert got["changes"] == [["attach", "1-4", "0951", True], ["attach", "1-5", "18d1", False], ["detach", "1-5", "18d1", False]]
