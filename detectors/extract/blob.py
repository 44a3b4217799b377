"""A piece of content to extract: its display path and a way to read its bytes.

Top-level files are read through their open file; archive members arrive as
one-shot streams (already wrapped in a LimitedReader). Formats that need
random access (ZIP-based documents, PDF, nested archives) ask for
:meth:`Blob.file`, which spools a stream into a SpooledTemporaryFile: small
members stay in memory, big ones go to an unlinked temporary file, so memory
stays bounded whatever the member's size. Nothing is ever written under a
member's own name.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import BinaryIO

from leakwarden.errors import EncryptedContent, LimitExceeded

SNIFF_BYTES = 64 * 1024
SPOOL_IN_MEMORY = 16 << 20
COPY_BLOCK = 1 << 20


class Replay(io.RawIOBase):
    """Bytes already read (the sniffed head) followed by the rest of a stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(b))
        b[: len(data)] = data
        return len(data)


class Capped(io.RawIOBase):
    """A file read only up to the size it had when the scan started (growing logs)."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        super().__init__()
        self._f = f
        self._left = size

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._f.fileno()

    def skip_to(self, pos: int | None) -> None:
        """Jump over a hole; None: there is no more data."""
        if pos is None:
            self._left = 0
            return
        here = self._f.tell()
        if pos > here:
            self._left -= pos - here
            self._f.seek(pos)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        data = self._f.read(min(len(b), self._left))
        b[: len(data)] = data
        self._left -= len(data)
        return len(data)


class Blob:
    def __init__(self, display: str, *, data: bytes | None = None, file: BinaryIO | None = None,
                 stream: BinaryIO | None = None, size: int | None = None, name: str | None = None,
                 top: bool = False) -> None:
        if sum(x is not None for x in (data, file, stream)) != 1:
            raise ValueError("a Blob needs exactly one of data, file, stream")
        self.display = display
        #: the member or file name the extension is taken from
        self.name = name if name is not None else display.rsplit("!", 1)[-1]
        self._data = data
        self._file = file
        self._stream = stream
        self._head: bytes | None = None
        self._streamed = False
        self.size = len(data) if data is not None else size
        #: a top-level file on disk: read only up to the size seen at start
        self.top = top and file is not None
        #: sniffing found the container damaged: its type is a guess, so the
        #: name cannot be called a disguise
        self.damaged = False

    def head(self) -> bytes:
        if self._head is None:
            if self._data is not None:
                self._head = self._data[:SNIFF_BYTES]
            elif self._file is not None:
                self._file.seek(0)
                self._head = _read_up_to(self._file, SNIFF_BYTES)
            else:
                assert self._stream is not None
                try:
                    self._head = _read_up_to(self._stream, SNIFF_BYTES)
                except (LimitExceeded, EncryptedContent):
                    raise
                except Exception as e:  # noqa: BLE001 - damaged stream: keep what came before it
                    partial = getattr(e, "partial", b"")
                    if not partial:
                        raise
                    self._head = partial
                    self._stream = _Failing(e)  # type: ignore[assignment]
        return self._head

    def stream(self) -> BinaryIO:
        """Read the content from its start (one-shot streams: once)."""
        if self._data is not None:
            return io.BytesIO(self._data)
        if self._file is not None:
            self._file.seek(0)
            if self.top and self.size is not None:
                return Capped(self._file, self.size)  # type: ignore[return-value]
            return self._file
        if self._streamed:
            raise RuntimeError("a one-shot stream can be read only once")
        self._streamed = True
        head = self.head()
        assert self._stream is not None
        return io.BufferedReader(Replay(head, self._stream), COPY_BLOCK)  # type: ignore[return-value]

    def file(self) -> BinaryIO:
        """A seekable file with the content (spools one-shot streams)."""
        if self._data is not None:
            self._file = io.BytesIO(self._data)
            self._data = None
        if self._file is None:
            src = self.stream()
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
            while block := src.read(COPY_BLOCK):
                spool.write(block)
            self.size = spool.tell()
            spool.seek(0)
            self._file = spool  # type: ignore[assignment]
            self._stream = None
        assert self._file is not None
        self._file.seek(0)
        return self._file

    def read_all(self) -> bytes:
        if self._data is not None:
            return self._data
        return self.file().read()

    def close(self) -> None:
        for f in (self._file, self._stream):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass


def _read_up_to(f: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    left = n
    try:
        while left > 0:
            block = f.read(min(left, 4096))
            if not block:
                break
            parts.append(block)
            left -= len(block)
    except Exception as e:
        e.partial = b"".join(parts)  # type: ignore[attr-defined]
        raise
    return b"".join(parts)


class _Failing(io.RawIOBase):
    """The rest of a stream that broke while its head was read: the error
    comes back when someone reads past the head, after the head was used."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self._error = error

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        raise self._error


def seek_data(f: object, pos: int) -> int | None:
    """Offset of the next data after a hole in a sparse file (None if unknown)."""
    try:
        return os.lseek(f.fileno(), pos, os.SEEK_DATA)  # type: ignore[attr-defined]
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None
