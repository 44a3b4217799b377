"""RTF: text, headers and footers, footnotes, annotations.

Written by hand: the available converters (striprtf and friends) drop the
header/footer distinction and the document code page, which we need for
markings in the head of Chinese documents (``\\ansicpg936`` + ``\\'hh`` pairs)
and for ``\\uN`` with its ``\\ucN`` fallback characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from detectors.extract.blob import Blob
from detectors.extract.chunks import Chunker
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.sniff import RTF
from detectors.extract.walk import Walk

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # control word with optional parameter
    rb"|\\'([0-9a-fA-F]{2})"  # hex byte in the document code page
    rb"|\\([^a-zA-Z'])"  # control symbol
    rb"|([{}])"
    rb"|[\r\n]+"
    rb"|([^\\{}\r\n]+)"
)
_SKIP = frozenset(b"""fonttbl colortbl stylesheet info pict object objdata themedata datastore colorschememapping
latentstyles listtable listoverridetable rsidtbl generator xmlnstbl mmathPr fldinst bkmkstart bkmkend
filetbl revtbl userprops xmlopen wgrffmtfilter pgdsctbl docvar nonshppict blipuid""".split())
_PARTS = {b"header": "header", b"headerl": "header", b"headerr": "header", b"headerf": "header",
          b"footer": "footer", b"footerl": "footer", b"footerr": "footer", b"footerf": "footer",
          b"footnote": "footnote", b"annotation": "comment"}
_CHARS = {b"par": "\n", b"line": "\n", b"sect": "\n", b"page": "\f", b"tab": "\t", b"cell": "\t",
          b"row": "\n", b"emdash": "\u2014", b"endash": "\u2013", b"bullet": "\u2022", b"lquote": "\u2018",
          b"rquote": "\u2019", b"ldblquote": "\u201c", b"rdblquote": "\u201d", b"emspace": " ", b"enspace": " "}
_SYMBOLS = {b"~": "\u00a0", b"-": "", b"_": "-", b"\\": "\\", b"{": "{", b"}": "}", b"\t": "\t"}


@dataclass(frozen=True)
class _State:
    skip: bool = False
    part: str = "body"
    uc: int = 1


def _codepage(data: bytes) -> str:
    m = re.search(rb"\\ansicpg(\d{3,5})", data[:4096])
    if m:
        name = f"cp{int(m.group(1))}"
        try:
            "".encode(name)
            return "gb18030" if name == "cp936" else name
        except LookupError:
            pass
    return "cp1252"


def extract_rtf(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    data = blob.read_all()
    codepage = _codepage(data)
    body = Chunker(walk.limits, path=blob.display, media_type=RTF)
    margins: dict[str, list[str]] = {}
    stack: list[_State] = []
    state = _State()
    pending = bytearray()  # \'hh bytes: DBCS characters take two
    skip_chars = 0  # fallback characters after \uN still to drop
    star = False  # \* seen: the next destination is ignorable if unknown
    pos = 0
    n = len(data)
    tokens = 0

    def emit(text: str) -> Iterator[Segment]:
        if state.skip or not text:
            return
        if state.part == "body":
            yield from body.add(text)
        else:
            margins.setdefault(state.part, []).append(text)

    def flush() -> Iterator[Segment]:
        if pending:
            text = bytes(pending).decode(codepage, "replace")
            pending.clear()
            yield from emit(text)

    while pos < n:
        m = _TOKEN.match(data, pos)
        if m is None:  # a lone backslash at the end
            break
        pos = m.end()
        tokens += 1
        if not tokens & 0xFFFF:
            walk.budget.check_time()
        word, param, hexbyte, symbol, brace, text = m.groups()
        if hexbyte is not None:
            if skip_chars:
                skip_chars -= 1
            else:
                pending.append(int(hexbyte, 16))
            continue
        yield from flush()
        if brace == b"{":
            stack.append(state)
            if len(stack) > 10000:  # nesting bomb: the rest is not text
                break
            continue
        if brace == b"}":
            state = stack.pop() if stack else state
            star = False
            continue
        if word is not None:
            if word in _SKIP or (star and word not in _PARTS):
                state = replace(state, skip=True)
            elif word in _PARTS:
                state = replace(state, part=_PARTS[word])
            elif word == b"u" and param is not None:
                code = int(param)
                yield from emit(chr(code + 65536 if code < 0 else code) if -32768 <= code < 65536 else "\ufffd")
                skip_chars = state.uc
                continue
            elif word == b"uc" and param is not None:
                state = replace(state, uc=max(0, int(param)))
            elif word == b"bin" and param is not None:
                pos += max(0, int(param))  # raw binary data (pictures)
            elif word in _CHARS:
                yield from emit(_CHARS[word])
            star = False
            skip_chars = 0
            continue
        if symbol is not None:
            if symbol == b"*":
                star = True
            elif symbol in _SYMBOLS:
                yield from emit(_SYMBOLS[symbol])
            continue
        if text is not None:
            chunk = text.decode(codepage, "replace")
            if skip_chars:
                drop = min(skip_chars, len(chunk))
                chunk, skip_chars = chunk[drop:], skip_chars - drop
            yield from emit(chunk)
    yield from flush()
    yield from body.finish()
    for part, pieces in margins.items():
        text = "".join(pieces).strip()
        if text:
            yield Segment(text=text, path=blob.display, part=part, media_type=RTF)
