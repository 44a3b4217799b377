"""Removable media: a real ext4 loop-device image, declared removable through
``devices.removable_mounts`` (this machine has no USB), and umockdev for the
udev identity of a USB stick."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.agent.conftest import REPO, SENSITIVE, events_of, needs_root, wait_for, write_config

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
