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
import functools
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
#: characters of the sample the two double-byte decodings are compared on
SCORE_CHARS = 8192
#: words that show a decoding is right (markings, ID/contact labels), in both scripts
_CONTEXT_WORDS = re.compile(
    "机密|機密|秘密|绝密|絕密|内部|內部|保密|身份证|身分證|身份證|证件|證件|电话|電話|手机|手機|"
    "密码|密碼|姓名|地址|银行|銀行|账号|帳號|公司|客户|客戶|报告|報告|文件|工作"
)


@functools.lru_cache(maxsize=65536)
def _usual(ch: str, encoding: str) -> bool:
    """Whether ``ch`` is a character real text in ``encoding`` is mostly made of.

    GB18030 text is almost all GB2312 (its level-1 and level-2 Hanzi and
    punctuation; kana, Greek and Cyrillic rows excepted); Big5 text is almost
    all Big5 symbols (A140-A3BF) and its frequent characters (A440-C67E).
    Bytes of one decoded as the other land largely outside those sets: Big5
    trail bytes 0x40-0x7E make GBK-extension characters, GB2312 rows past C6
    make Big5's rare characters or nothing at all.
    """
    try:
        if encoding == "gb18030":
            b = ch.encode("gb2312")
            return len(b) == 2 and not 0xA4 <= b[0] <= 0xA7
        b = ch.encode("big5")
    except UnicodeEncodeError:
        return False
    code = int.from_bytes(b, "big")
    return 0xA140 <= code <= 0xA3BF or 0xA440 <= code <= 0xC67E


def _cjk_penalty(sample: bytes, encoding: str) -> tuple[int, int, int, int]:
    """(penalty, invalid sequences, unusual characters, non-ASCII characters)
    of decoding ``sample`` as ``encoding``."""
    text = codecs.getincrementaldecoder(encoding)("replace").decode(sample, final=False)[:SCORE_CHARS]
    errors = len(_DAMAGE.findall(text))
    wide = [ch for ch in text if ch > "\x7f" and ch != "\ufffd"]
    unusual = sum(1 for ch in wide if not _usual(ch, encoding))
    words = len(_CONTEXT_WORDS.findall(text))
    return 3 * errors + unusual - 3 * words, errors, unusual, len(wide)


def _legacy_encoding(sample: bytes) -> str:
    """GB18030 or Big5 (or a single-byte code page): the decoding that reads as
    text. Both double-byte codecs accept most byte pairs, so a short Big5 file
    also decodes as GB18030, into rare characters; statistical detectors guess
    poorly on a line or two. Each decoding is scored on invalid sequences,
    characters outside the usual set of its script and known marking and
    label words; the lower penalty wins. A tie (characters usual in both) goes
    to GB18030 when short, else charset-normalizer breaks it."""
    scored = {e: _cjk_penalty(sample, e) for e in _CJK}
    # A few invalid sequences (a damaged copy, a Big5-HKSCS character) do not rule
    # one out; mostly unusual characters do: that is Latin text read as CJK.
    fits = [e for e, (_, errors, unusual, wide) in scored.items()
            if wide and errors <= max(1, wide // 20) and unusual * 3 <= wide]
    if len(fits) == 1:
        return fits[0]
    if fits:
        gb, big5 = scored["gb18030"][0], scored["big5"][0]
        if gb != big5:
            return "gb18030" if gb < big5 else "big5"
        if scored["gb18030"][3] < 64:
            return "gb18030"  # a few characters usual in both: too little for statistics
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
