"""Plain text: encoding detection, binary detection and streaming in chunks.

Cheap checks decide first (BOMs, NUL patterns of BOM-less UTF-16, a strict
UTF-8 decode of the sample); charset-normalizer is asked only about a sample
that is neither, to choose between GB18030, Big5 and single-byte code pages.
The file is then decoded incrementally (``errors="replace"``: invalid bytes
never stop a scan) and cut into overlapping chunks, so memory stays bounded
for multi-GB logs and single 100 MB lines.

A top-level file is read up to the size it had when the scan started: a log
that grows meanwhile is scanned as it was, one that shrinks ends early.
Runs of NUL bytes (holes of sparse files, preallocated logs) are skipped
without decoding; on sparse files the next data is found with SEEK_DATA.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from detectors.extract.blob import COPY_BLOCK, Blob, Capped, seek_data
from detectors.extract.chunks import Chunker
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.walk import Walk

#: control characters that do not occur in text (everything below 0x20
#: except tab, LF, VT, FF, CR and ESC)
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 11, 12, 13, 27))


def _utf16_by_nuls(sample: bytes) -> str | None:
    """BOM-less UTF-16: ASCII-range characters put a NUL in every other byte."""
    n = len(sample) - (len(sample) % 2)
    if n < 4:
        return None
    even = sample[0:n:2].count(0)
    odd = sample[1:n:2].count(0)
    half = n // 2
    if odd > half * 0.1 and even < half * 0.01:
        return "utf-16-le"
    if even > half * 0.1 and odd < half * 0.01:
        return "utf-16-be"
    return None


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=False)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def is_binary(sample: bytes) -> bool:
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    return controls > len(sample) * 0.05


def detect_encoding(sample: bytes) -> tuple[str, int] | None:
    """(Python codec name, BOM length) for a text sample, or None when it is binary."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8", 3
    if sample.startswith(b"\xff\xfe\x00\x00"):
        return "utf-32-le", 4
    if sample.startswith(b"\x00\x00\xfe\xff"):
        return "utf-32-be", 4
    if sample.startswith(b"\xff\xfe"):
        return "utf-16-le", 2
    if sample.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    utf16 = _utf16_by_nuls(sample)
    if utf16 and _decodes(sample, utf16):
        return utf16, 0
    if is_binary(sample):
        return None
    if _decodes(sample, "utf-8") or _mostly_utf8(sample):
        return "utf-8", 0
    return _legacy_encoding(sample), 0


def _mostly_utf8(sample: bytes) -> bool:
    """UTF-8 with a few damaged sequences (truncated copies, stray bytes):
    legacy double-byte text almost never forms valid multi-byte UTF-8."""
    decoded = codecs.getincrementaldecoder("utf-8")("replace").decode(sample, final=False)
    errors = len(_DAMAGE.findall(decoded))  # damaged spots, not replaced bytes
    multibyte = sum(1 for ch in decoded if ch > "\x7f") - decoded.count("\ufffd")
    return multibyte >= 8 and errors * 4 <= multibyte


_CJK = ("gb18030", "big5")
_DAMAGE = re.compile("\ufffd+")


def _legacy_encoding(sample: bytes) -> str:
    fits = [e for e in _CJK if _decodes(sample, e)]
    if len(fits) == 1:
        return fits[0]
    if fits:
        # Both double-byte decoders accept the bytes: let the statistical
        # detector choose, on this sample only.
        from charset_normalizer import from_bytes

        best = from_bytes(sample[:16384], cp_isolation=["gb18030", "big5", "cp1252"]).best()
        if best is not None and best.encoding in ("gb18030", "big5"):
            return best.encoding
        return "gb18030"
    return "cp1252" if _decodes(sample, "cp1252") else "latin-1"


#: declared charsets widened to the superset real senders use (mail, HTML and
#: XML declare GB2312 and mean GBK/GB18030; Big5 means Big5-HKSCS)
_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs",
          "ks_c_5601-1987": "cp949", "iso-8859-1": "cp1252", "us-ascii": "utf-8", "ascii": "utf-8"}


def declared_codec(declared: str) -> str | None:
    """The Python codec for a charset a document declares, or None if unknown."""
    name = declared.strip().lower()
    try:
        return codecs.lookup(_WIDER.get(name, name)).name
    except LookupError:
        return None


def extract_text(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    found = detect_encoding(blob.head())
    if found is None:
        yield Notice("skipped", blob.display, "binary")
        return
    encoding, bom = found
    yield from stream_text(blob, walk, encoding, bom, media_type="text/plain")


def stream_text(blob: Blob, walk: Walk, encoding: str, bom: int, *, media_type: str,
                part: str = "body") -> Iterator[Segment]:
    src = blob.stream()
    if bom:
        src.read(bom)
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    chunker = Chunker(walk.limits, path=blob.display, part=part, media_type=media_type)
    budget = walk.budget
    sparse = isinstance(src, Capped)
    # A top-level text file is exempt from the wall-clock budget: it is read
    # once, forward, in bounded memory, so a multi-GB log must be scanned to
    # its end, however long that takes. The budget guards against what grows
    # without bound per input byte: decompression, nesting, parsers; text
    # inside a container is still charged to it.
    timed = walk.depth > 0
    try:
        while True:
            if timed:
                budget.check_time()
            raw = src.read(COPY_BLOCK)
            if not raw:
                break
            if raw[0] == 0 and raw[-1] == 0 and raw.count(0) == len(raw):  # cheap test first
                if sparse:
                    src.skip_to(seek_data(src, src.tell()))
                continue
            yield from chunker.add(decoder.decode(raw))
        yield from chunker.add(decoder.decode(b"", final=True))
    except Exception:
        yield from chunker.finish()  # a limit or a broken stream: what was read still counts
        raise
    yield from chunker.finish()
