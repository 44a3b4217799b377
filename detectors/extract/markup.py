"""HTML and XML: their text, with entity bombs refused (defusedxml)."""

from __future__ import annotations

import codecs
import html.parser
import re
from xml.parsers import expat
from collections.abc import Iterator

from detectors.extract.blob import Blob
from detectors.extract.chunks import Chunker
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.sniff import HTML, XML
from detectors.extract.text import declared_codec, detect_encoding
from detectors.extract.walk import Walk

_BLOCK = frozenset({"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "title",
                    "table", "ul", "ol", "section", "article", "header", "footer", "pre", "blockquote",
                    "option", "dt", "dd", "hr", "address", "caption"})
#: attributes whose values are content a person wrote or a page carries
_TEXT_ATTRS = frozenset({"alt", "title", "value", "content", "placeholder", "label", "summary"})


class _HTMLText(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self._skip += 1
        if tag in _BLOCK:
            self.out.append("\n")
        for name, value in attrs:
            if value and (name in _TEXT_ATTRS or (name == "href" and value.startswith("mailto:"))):
                self.out.append(f" {value} ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style" and self._skip:
            self._skip -= 1
        if tag in _BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:  # script text stays: keys and tokens hide in inline scripts
            self.out.append(data)

    def handle_comment(self, data: str) -> None:
        self.out.append(f"\n{data}\n")


_XML_DECLARED = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9._-]{1,40})""", re.IGNORECASE)


def _decoded_stream(blob: Blob, *, xml: bool = False) -> Iterator[str]:
    found = detect_encoding(blob.head()) or ("utf-8", 0)
    enc, bom = found
    # What the document declares (XML declaration, HTML meta charset) wins over
    # guessing; UTF-16 is already known by its BOM or NULs.
    head = blob.head()[bom:]
    m = None
    if not enc.startswith("utf-16"):
        m = _XML_DECLARED.match(head) if xml else _META_CHARSET.search(head[:4096])
    if m:
        enc = declared_codec(m.group(1).decode("ascii")) or enc
    src = blob.stream()
    if bom:
        src.read(bom)
    dec = codecs.getincrementaldecoder(enc)("replace")
    while raw := src.read(1 << 20):
        yield dec.decode(raw)
    yield dec.decode(b"", final=True)


def extract_html(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    parser = _HTMLText()
    ch = Chunker(walk.limits, path=blob.display, media_type=HTML)
    try:
        for piece in _decoded_stream(blob):
            walk.budget.check_time()
            parser.feed(piece)
            text, parser.out = "".join(parser.out), []
            yield from ch.add(text)
        parser.close()
    except Exception:
        yield from ch.finish()
        raise
    yield from ch.add("".join(parser.out))
    yield from ch.finish()


class EntitiesForbidden(ValueError):
    """The XML declares entities (billion laughs, external entities): refused."""


def extract_xml(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    """Text and attribute values in document order (expat, streaming).

    Entity declarations are refused as defusedxml does; expat alone would
    expand a billion-laughs document.
    """
    out: list[str] = []

    def forbid(*_: object) -> None:
        raise EntitiesForbidden("XML declares entities (possible entity-expansion bomb); refused")

    def start(_: str, attrs: dict[str, str]) -> None:
        out.append("\n")
        values = [v for v in attrs.values() if v.strip()]
        if values:
            out.append(" ".join(values) + "\n")

    # expat knows few encodings (no GB18030/Big5): decode here, feed UTF-8.
    parser = expat.ParserCreate(encoding="utf-8")
    parser.EntityDeclHandler = forbid
    parser.UnparsedEntityDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda _: out.append("\n")
    parser.CharacterDataHandler = out.append
    ch = Chunker(walk.limits, path=blob.display, media_type=XML)
    try:
        for piece in _decoded_stream(blob, xml=True):
            walk.budget.check_time()
            parser.Parse(piece.encode("utf-8", "surrogatepass"), False)
            yield from ch.add(_squeeze("".join(out)))
            out.clear()
        parser.Parse(b"", True)
    except Exception:
        yield from ch.add(_squeeze("".join(out)))  # text before the damage still counts
        yield from ch.finish()
        raise
    yield from ch.add(_squeeze("".join(out)))
    yield from ch.finish()


_BLANK_LINES = re.compile(r"\n\s*\n")


def _squeeze(text: str) -> str:
    return _BLANK_LINES.sub("\n", text)
