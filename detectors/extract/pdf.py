"""PDF: the text layer, page by page (pypdf), plus embedded file attachments.

pypdf is pure Python, installs everywhere and measured faster than
pdfminer.six here (bench/extract_bench.py). A PDF that opens with the empty
user password (owner-password "protection") is read; one that needs a real
password is reported as container.encrypted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from leakwarden.errors import EncryptedContent

from detectors.extract.archive import member_display
from detectors.extract.blob import Blob
from detectors.extract.chunks import segments_of
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.sniff import PDF
from detectors.extract.walk import Walk

# pypdf logs every repaired cross-reference table: noise for a scanner of
# other people's files; damage is reported as Notices instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def extract_pdf(blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    reader = PdfReader(blob.file(), strict=False)
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except (DependencyError, NotImplementedError) as e:
            raise EncryptedContent(f"PDF is encrypted with an unsupported method: {e}") from e
        if not opened:
            raise EncryptedContent("PDF is password-protected")
    try:
        pages = reader.pages
        count = len(pages)
    except FileNotDecryptedError as e:
        raise EncryptedContent("PDF is password-protected") from e
    if count == 0:
        yield Notice("error", blob.display, "no readable pages (damaged page tree?)")
    found_text = False
    for number in range(1, count + 1):
        if walk.budget.exhausted:
            return
        walk.budget.check_time()
        try:
            text = pages[number - 1].extract_text() or ""
        except Exception as e:  # noqa: BLE001 - one damaged page must not hide the others
            yield Notice("error", blob.display, f"page {number}: cannot extract text: {type(e).__name__}",
                         {"page": number})
            continue
        found_text = found_text or bool(text.strip())
        yield from segments_of(text, walk.limits, path=blob.display, part="page", page=number, media_type=PDF)
    if count and not found_text:
        # scanned pages are images: say so rather than look clean (OCR is a later issue)
        yield Notice("skipped", blob.display, "no text layer", {"pages": count, "media_type": PDF})
    yield from _attachments(reader, blob, walk)


def _attachments(reader: object, blob: Blob, walk: Walk) -> Iterator[Segment | Notice]:
    try:
        attachments = reader.attachments  # type: ignore[attr-defined]
        items = list(attachments.items())
    except Exception:  # noqa: BLE001 - a damaged name tree: no attachments to read
        return
    for name, contents in items:
        for data in contents:
            walk.budget.add_member()
            walk.budget.charge(len(data))
            display = member_display(blob.display, name)
            if len(data) > walk.limits.max_member_bytes:
                yield Notice("container.limit_exceeded", display,
                             f"attachment of {len(data)} bytes, more than max_member_bytes")
                continue
            yield from walk.descend(Blob(display, data=data, name=name))
