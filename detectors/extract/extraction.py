"""The entry points: extract_path and extract_bytes, returning an Extraction."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator

from leakwarden.errors import ExtractionError

from detectors.extract.blob import Blob
from detectors.extract.limits import Budget, ExtractLimits
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.sniff import extension_mismatch, sniff
from detectors.extract.walk import Walk, extract_blob

_KINDS = {
    stat.S_IFIFO: "FIFO",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
    stat.S_IFLNK: "symbolic link",
}


class Extraction:
    """Iterate it for Segments and Notices. ``media_type`` and ``disguised`` are
    known as soon as it is created (the type comes from the content)."""

    def __init__(self, blob: Blob, limits: ExtractLimits, *, notices: tuple[Notice, ...] = (),
                 run: Callable[[], Iterator[Segment | Notice]] | None = None) -> None:
        self._blob = blob
        self._limits = limits
        self._pre = notices
        self._run = run
        self.media_type = "application/octet-stream"
        self.disguised = False
        self._consumed = False
        if run is None:
            try:
                self.media_type = sniff(blob)
            except Exception as e:  # noqa: BLE001 - sniffing reads hostile bytes; extraction reports it
                self._pre += (Notice("error", blob.display, f"cannot identify content: {type(e).__name__}"),)
            self.disguised = not blob.damaged and extension_mismatch(blob.name, self.media_type)

    def __iter__(self) -> Iterator[Segment | Notice]:
        if self._consumed:
            raise RuntimeError("an Extraction can be iterated once")
        self._consumed = True
        try:
            yield from self._pre
            if self._run is not None:
                yield from self._run()
                return
            if self.disguised:
                yield Notice("container.disguised", self._blob.display,
                             f"content is {self.media_type}, name says otherwise",
                             {"media_type": self.media_type, "name": self._blob.name})
            walk = Walk(self._limits, Budget(self._limits))
            yield from extract_blob(self._blob, walk, self.media_type)
        finally:
            self.close()

    def close(self) -> None:
        self._blob.close()

    def __enter__(self) -> Extraction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def _skipped(blob: Blob, limits: ExtractLimits, reason: str, **attrs: object) -> Extraction:
    return Extraction(blob, limits, run=lambda: iter((Notice("skipped", blob.display, reason, dict(attrs)),)))


def extract_path(path: str, display: str | None = None, limits: ExtractLimits = ExtractLimits()) -> Extraction:
    """Open ``path`` for extraction. Raises ExtractionError only for problems
    that stop the whole file (missing, not a regular file, unreadable)."""
    display = display if display is not None else path
    try:
        st = os.stat(path)
    except FileNotFoundError as e:
        raise ExtractionError(f"{display}: no such file (vanished?)") from e
    except PermissionError as e:
        raise ExtractionError(f"{display}: permission denied") from e
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ExtractionError(f"{display}: symbolic link loop") from e
        if e.errno == errno.ENAMETOOLONG:
            raise ExtractionError(f"{display}: file name too long") from e
        raise ExtractionError(f"{display}: cannot stat: {e.strerror or e}") from e
    _require_regular(st, display)
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO after the stat, open
        # must not wait for a writer; we check the opened file again below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as e:
        raise ExtractionError(f"{display}: vanished before it could be read") from e
    except PermissionError as e:
        raise ExtractionError(f"{display}: permission denied") from e
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ExtractionError(f"{display}: symbolic link loop") from e
        raise ExtractionError(f"{display}: cannot open: {e.strerror or e}") from e
    try:
        st = os.fstat(fd)
        _require_regular(st, display)
        os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")  # buffered: zipfile and pypdf make many small reads
    except BaseException:
        os.close(fd)
        raise
    blob = Blob(display, file=f, size=st.st_size, top=True,  # type: ignore[arg-type]
                name=os.path.basename(path))
    if limits.max_file_bytes is not None and st.st_size > limits.max_file_bytes:
        return _skipped(blob, limits, f"file larger than max_file_bytes ({st.st_size} > {limits.max_file_bytes})",
                        size=st.st_size)
    try:
        return Extraction(blob, limits)
    except OSError as e:
        blob.close()
        raise ExtractionError(f"{display}: cannot read: {e.strerror or e}") from e


def _require_regular(st: os.stat_result, display: str) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise ExtractionError(f"{display}: is a directory")
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "special file")
        raise ExtractionError(f"{display}: not a regular file ({kind})")


def extract_bytes(data: bytes, display: str, limits: ExtractLimits = ExtractLimits()) -> Extraction:
    return Extraction(Blob(display, data=bytes(data)), limits)
