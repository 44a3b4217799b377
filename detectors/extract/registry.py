"""Media type -> extractor: the explicit list of what LeakWarden can read.

A type missing here is reported as a "skipped" Notice naming the type
(images, media, executables: OCR is a later issue).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from detectors.extract import archive, compressed, mail, markup, odf, ole, ooxml, pdf, rtf, sniff as t, text
from detectors.extract.blob import Blob
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.walk import Walk

Extractor = Callable[[Blob, Walk], Iterator[Segment | Notice]]

EXTRACTORS: dict[str, Extractor] = {
    t.TEXT: text.extract_text,
    t.HTML: markup.extract_html,
    t.XML: markup.extract_xml,
    t.EML: mail.extract_eml,
    t.RTF: rtf.extract_rtf,
    t.PDF: pdf.extract_pdf,
    t.DOCX: ooxml.extract_docx,
    t.XLSX: ooxml.extract_xlsx,
    t.PPTX: ooxml.extract_pptx,
    t.ODT: odf.extract_odf,
    t.ODS: odf.extract_odf,
    t.ODP: odf.extract_odf,
    t.DOC: ole.extract_doc,
    t.XLS: ole.extract_xls,
    t.PPT: ole.extract_ole_text,
    t.OLE: ole.extract_ole_text,
    t.OFFICE_ENCRYPTED: ole.encrypted_office,
    t.ZIP: archive.extract_zip,
    t.TAR: archive.extract_tar,
    t.SEVENZ: archive.extract_7z,
    t.GZIP: compressed.extract_gzip,
    t.BZIP2: compressed.extract_bzip2,
    t.XZ: compressed.extract_xz,
}
