from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.harness import Deployment


@pytest.fixture
def deploy(tmp_path: Path) -> Iterator[callable]:
    """Factory: ``deploy(server_extra=..., agent_extra=...)`` → a started Deployment, stopped after the test."""
    made: list[Deployment] = []

    def make(start: bool = True, **kwargs: object) -> Deployment:
        d = Deployment(tmp_path / f"d{len(made)}", **kwargs)  # type: ignore[arg-type]
        made.append(d)
        return d.start() if start else d

    yield make
    for d in made:
        d.stop()


@contextmanager
def loop_mount(image: Path, mountpoint: Path, size_mb: int = 16, label: str = "LWTEST") -> Iterator[Path]:
    """A real ext4 filesystem on a loop device (the machine has no USB stack)."""
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4"):
        pytest.skip("loop-device mounts need root and mkfs.ext4 (e2fsprogs)")
    with open(image, "wb") as f:
        f.truncate(size_mb << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", label, str(image)], check=True)
    mountpoint.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mountpoint)], check=True)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)
