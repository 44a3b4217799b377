"""ZIP, TAR and 7z archives: every member is extracted recursively, in memory
or an unlinked spool file, never under its own name.

Member names are attacker-chosen (``../../etc/passwd``, ``/abs/path``, control
characters): they are used only as labels in display paths, with control
characters escaped.
"""

from __future__ import annotations

import io
import re
import struct
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator

from leakwarden.errors import EncryptedContent, LimitExceeded

from detectors.extract.blob import COPY_BLOCK, Blob
from detectors.extract.limits import RATIO_FLOOR, LimitedReader
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.walk import Walk

_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def member_display(outer: str, name: str) -> str:
    """``outer!name`` with control and bidi-override characters made visible."""
    return f"{outer}!{_UNSAFE.sub(_escape, name)}"


def _declared_limit(walk: Walk, size: int | None, compressed: int | None) -> str | None:
    """Refuse members whose headers already admit they are too big."""
    lim = walk.limits
    if size is None:
        return None
    if size > lim.max_member_bytes:
        return f"member declares {size} bytes, more than max_member_bytes {lim.max_member_bytes}"
    if compressed and size > RATIO_FLOOR and size / compressed > lim.max_ratio:
        return f"member declares compression ratio {size / compressed:.0f}, more than {lim.max_ratio:g}"
    if walk.budget.expanded + size > lim.max_total_bytes:
        reason = f"member would pass max_total_bytes {lim.max_total_bytes}"
        walk.budget.exhaust(reason)  # later members would too: report once, stop
        return reason
    return None


class CrcChecked(io.RawIOBase):
    """A ZIP member read with zipfile's CRC check turned off and done here instead.

    zipfile raises ``BadZipFile`` only once the whole member has been read, so
    the content of a member whose CRC bytes were altered would be lost (unzip
    still extracts it). A tampered archive must not hide its text: the bytes
    are handed over, and a wrong CRC is recorded on the walk for a notice.
    """

    def __init__(self, raw: zipfile.ZipExtFile, info: zipfile.ZipInfo, walk: Walk) -> None:
        super().__init__()
        self._raw = raw
        raw._expected_crc = None  # type: ignore[attr-defined]  # private, but the only switch there is
        self._info = info
        self._walk = walk
        self._crc = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read1(len(b)) if len(b) else b""
        n = len(data)
        b[:n] = data
        if n:
            self._crc = zlib.crc32(data, self._crc)
        elif len(b) and not self._done:
            self._done = True
            if self._crc != self._info.CRC:
                self._walk.bad_crc.append((self._info.filename, self._info.CRC, self._crc))
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def open_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, walk: Walk) -> CrcChecked:
    """Open a member for reading; a bad CRC is recorded, not raised (see CrcChecked)."""
    return CrcChecked(zf.open(info), info, walk)


def crc_notices(walk: Walk, display: str, *, member: bool = False) -> Iterator[Notice]:
    """Notices for the members of ``display`` read so far whose CRC was wrong.

    ``member``: ``display`` is the member itself (a ZIP member), else the
    document whose part it was (``a.docx``, part ``word/document.xml``).
    """
    while walk.bad_crc:
        name, stored, actual = walk.bad_crc.pop(0)
        what = "" if member else f"part {name}: "
        yield Notice("error", display,
                     f"{what}bad CRC-32 (stored {stored:08x}, content {actual:08x}): damaged or altered "
                     "after packing; content scanned anyway",
                     {"bad_crc": True, **({} if member else {"part": name})})


def _zip_name(info: zipfile.ZipInfo) -> str:
    # Without the UTF-8 flag zipfile decodes names as cp437; archives made on
    # Chinese Windows hold GBK there (and many tools write UTF-8 regardless).
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


#: damaged ZIPs up to this size are salvaged from their local headers
SALVAGE_MAX = 64 << 20
_LOCAL = struct.Struct("<IHHHHHIIIHH")


def open_zip(blob: Blob, walk: Walk) -> tuple[zipfile.ZipFile, Notice | None]:
    """The ZIP of ``blob``; if its central directory is gone (truncated,
    damaged), the members whose local headers survive, rebuilt in memory,
    and a Notice saying so. Raises when nothing can be salvaged."""
    f = blob.file()
    try:
        return zipfile.ZipFile(f), None
    except zipfile.BadZipFile as e:
        f.seek(0, 2)
        size = f.tell()
        if size > SALVAGE_MAX:
            raise
        f.seek(0)
        zf, count = _salvage(f.read(), walk)
        if not count:
            raise
        return zf, Notice("error", blob.display, f"damaged ZIP ({e}); {count} members salvaged from local headers",
                          {"salvaged": count})


def _salvage(data: bytes, walk: Walk) -> tuple[zipfile.ZipFile, int]:
    out = tempfile.SpooledTemporaryFile(max_size=16 << 20)
    count = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as rebuilt:
        pos = data.find(b"PK\x03\x04")
        while pos >= 0 and pos + _LOCAL.size <= len(data):
            _, _, flags, method, _, _, _, csize, _, nlen, xlen = _LOCAL.unpack_from(data, pos)
            start = pos + _LOCAL.size + nlen + xlen
            name = data[pos + _LOCAL.size:pos + _LOCAL.size + nlen].decode("utf-8", "replace")
            content: bytes | None = None
            end = start
            if flags & 0x1 or not name or name.endswith("/"):
                pass  # encrypted or a directory: nothing to read
            elif method == 0 and not flags & 0x8:
                content, end = data[start:start + csize], start + csize
            elif method == 8:
                d = zlib.decompressobj(-15)
                try:
                    content = d.decompress(data[start:], walk.limits.max_member_bytes + 1)
                except zlib.error:
                    content = None
                end = len(data) - len(d.unused_data) if d.eof else len(data)
            if content is not None and len(content) <= walk.limits.max_member_bytes:
                walk.budget.charge(len(content))
                rebuilt.writestr(name, content)  # a partial last member is kept: its text still counts
                count += 1
            pos = data.find(b"PK\x03\x04", max(end, pos + 4))
    out.seek(0)
    return zipfile.ZipFile(out), count


def extract_zip(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    zf, damaged = open_zip(blob, walk)
    with zf:
        if damaged:
            yield damaged
        yield from extract_zip_members(zf, blob, walk)


def extract_zip_members(zf: zipfile.ZipFile, blob: Blob, walk: Walk,
                        names: list[str] | None = None) -> Iterator[Segment | Notice]:
    """Extract the members of an open ZIP (all, or ``names``) one level deeper."""
    infos = zf.infolist() if names is None else [zf.getinfo(n) for n in names]
    for info in infos:
        if walk.budget.exhausted:
            return
        if info.is_dir():
            continue
        walk.budget.add_member()
        walk.budget.check_time()
        name = _zip_name(info)
        display = member_display(blob.display, name)
        if info.flag_bits & 0x1:
            yield Notice("container.encrypted", display, "ZIP member is password-protected",
                         {"container": blob.display})
            continue
        too_big = _declared_limit(walk, info.file_size, info.compress_size)
        if too_big:
            yield Notice("container.limit_exceeded", display, too_big, {"container": blob.display})
            if walk.budget.exhausted:
                return
            continue
        try:
            raw = open_member(zf, info, walk)
        except (NotImplementedError, zipfile.BadZipFile, OSError, ValueError, RuntimeError) as e:
            yield Notice("error", display, f"cannot open ZIP member: {e}")
            continue
        reader = LimitedReader(raw, walk.budget, compressed_size=info.compress_size)  # type: ignore[arg-type]
        yield from walk.descend(Blob(display, stream=io.BufferedReader(reader, COPY_BLOCK),
                                     size=info.file_size, name=name))
        yield from crc_notices(walk, display, member=True)


def extract_tar(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    # Stream mode ("r|"): one forward pass, works on decompressing streams.
    with tarfile.open(fileobj=blob.stream(), mode="r|") as tf:
        for member in tf:
            if walk.budget.exhausted:
                return
            if not member.isfile():
                continue  # directories, links and device nodes carry no content
            walk.budget.add_member()
            walk.budget.check_time()
            display = member_display(blob.display, member.name)
            too_big = _declared_limit(walk, member.size, None)
            if too_big:
                yield Notice("container.limit_exceeded", display, too_big, {"container": blob.display})
                if walk.budget.exhausted:
                    return
                continue
            raw = tf.extractfile(member)
            if raw is None:
                continue
            reader = LimitedReader(raw, walk.budget)  # type: ignore[arg-type]
            yield from walk.descend(Blob(display, stream=io.BufferedReader(reader, COPY_BLOCK),
                                         size=member.size, name=member.name))


class _SpoolWriter:
    """py7zr writes each member here; limits are enforced as bytes arrive."""

    def __init__(self, walk: Walk, name: str) -> None:
        self._walk = walk
        self.name = name
        self.file = tempfile.SpooledTemporaryFile(max_size=1 << 20)
        self.count = 0

    def write(self, s: bytes | bytearray) -> int:
        self.count += len(s)
        lim = self._walk.limits
        if self.count > lim.max_member_bytes:
            raise LimitExceeded(f"7z member {self.name!r} expands to more than {lim.max_member_bytes} bytes")
        self._walk.budget.charge(len(s))
        self._walk.budget.check_time()
        return self.file.write(s)

    def read(self, size: int | None = None) -> bytes:
        return self.file.read(size if size is not None else -1)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def flush(self) -> None:
        self.file.flush()

    def size(self) -> int:
        return self.count

    def close(self) -> None:
        pass  # kept open until extracted; closed by its Blob


def extract_7z(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    import py7zr
    import py7zr.exceptions
    import py7zr.io

    try:
        archive = py7zr.SevenZipFile(blob.file(), mode="r")
    except py7zr.exceptions.PasswordRequired as e:
        raise EncryptedContent("7z archive is password-protected (encrypted headers)") from e
    with archive:
        if archive.needs_password():
            raise EncryptedContent("7z archive is password-protected")
        infos = [i for i in archive.list() if not i.is_directory]
        todo: list[str] = []
        for info in infos:
            if walk.budget.exhausted:
                break
            walk.budget.add_member()
            display = member_display(blob.display, info.filename)
            too_big = _declared_limit(walk, info.uncompressed, None)
            if too_big:
                yield Notice("container.limit_exceeded", display, too_big, {"container": blob.display})
                if walk.budget.exhausted:
                    break
            else:
                todo.append(info.filename)
        if not todo:
            return
        writers: dict[str, _SpoolWriter] = {}

        class Factory(py7zr.io.WriterFactory):
            def create(self, filename: str) -> _SpoolWriter:  # type: ignore[override]
                w = writers[filename] = _SpoolWriter(walk, filename)
                return w

        failure: Notice | None = None
        try:
            archive.extract(targets=todo, factory=Factory())
        except LimitExceeded as e:
            # Members completed before the limit are still scanned below.
            failure = Notice("container.limit_exceeded", blob.display, e.reason)
        incomplete = next(reversed(writers), None) if failure is not None else None
        for name, w in writers.items():
            if name == incomplete:  # being written when the limit hit
                w.file.close()
                continue
            w.file.seek(0)
            yield from walk.descend(Blob(member_display(blob.display, name), file=w.file,  # type: ignore[arg-type]
                                         size=w.count, name=name))
        if failure is not None:
            yield failure
