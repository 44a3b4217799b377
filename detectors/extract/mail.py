"""E-mail (RFC 822 / MIME): headers, every text part and every attachment,
recursively (forwarded messages, archives attached to mails ...).

The stdlib parser undoes base64 and quoted-printable and is lenient with
broken MIME (a missing closing boundary still yields the parts it saw);
declared charsets are honoured, with GB2312/GBK widened to GB18030 and a
detection fallback for unknown or lying ones.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from collections.abc import Iterator
from email.header import decode_header
from email.message import Message

from detectors.extract.archive import member_display
from detectors.extract.blob import Blob
from detectors.extract.chunks import segments_of
from detectors.extract.markup import _HTMLText
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.sniff import EML
from detectors.extract.text import declared_codec, detect_encoding
from detectors.extract.walk import Walk

_HEADERS = ("Subject", "From", "To", "Cc", "Bcc", "Reply-To")


def _decode(payload: bytes, declared: str | None) -> str:
    name = declared_codec(declared) if declared else None
    if name:
        text = payload.decode(name, "replace")
        if text.count("\ufffd") <= len(text) // 100:  # else the declaration lies: detect
            return text
    found = detect_encoding(payload[:65536])
    enc, bom = found if found else ("utf-8", 0)
    return payload[bom:].decode(enc, "replace")


def _html_text(html: str) -> str:
    p = _HTMLText()
    p.feed(html)
    p.close()
    return "".join(p.out)


def extract_eml(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    data = blob.read_all()
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    yield from _message(msg, blob.display, walk, top=True)


def _message(msg: Message, display: str, walk: Walk, *, top: bool) -> Iterator[Segment | Notice]:
    heads = []
    for name in _HEADERS:
        for value in msg.get_all(name, []) or []:
            heads.append(f"{name}: {_header_text(value)}")
    if heads:
        yield Segment(text="\n".join(heads), path=display, part="mail-header", media_type=EML)
    used: set[str] = set()
    for number, part in enumerate(msg.walk(), 1):
        walk.budget.check_time()
        if walk.budget.exhausted:
            return
        if part.is_multipart():
            # Text outside the boundaries (or all of it, when the boundary
            # is broken) lands in preamble/epilogue: scan it too.
            loose = "\n".join(t for t in (part.preamble, part.epilogue) if t and t.strip())
            if loose:
                yield from segments_of(loose, walk.limits, path=display, part="body", media_type=EML)
            continue
        filename = part.get_filename()
        ctype = part.get_content_type()
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = str(part.get_payload()).encode("utf-8", "replace")
        is_attachment = bool(filename) or part.get_content_disposition() == "attachment" \
            or not ctype.startswith("text/")
        if not is_attachment:
            text = _decode(payload, part.get_content_charset())
            if ctype == "text/html":
                text = _html_text(text)
            yield from segments_of(text, walk.limits, path=display, part="body", media_type=EML)
            continue
        name = _header_text(filename) if filename else f"part-{number}"
        if name in used:
            name = f"{name}#{number}"
        used.add(name)
        walk.budget.add_member()
        walk.budget.charge(len(payload))
        for item in walk.descend(Blob(member_display(display, name), data=payload, name=name)):
            if isinstance(item, Segment) and item.part == "body":
                item = _as_attachment(item)
            yield item


def _as_attachment(seg: Segment) -> Segment:
    return replace(seg, part="attachment")


def _header_text(value: object) -> str:
    """Decode RFC 2047 encoded words (=?GB2312?B?...?=) with our charset widening."""
    out = []
    try:
        for chunk, charset in decode_header(str(value)):
            out.append(_decode(chunk, charset) if isinstance(chunk, bytes) else chunk)
    except (ValueError, LookupError, AssertionError):
        return str(value)
    return "".join(out)
