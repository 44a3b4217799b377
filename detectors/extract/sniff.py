"""Media type by content: magic bytes, ZIP member names, OLE stream names.

The extension is used only to tell whether a file is disguised (a DOCX
renamed to .jpg), never to choose how to read it.
"""

from __future__ import annotations

import re
import zipfile

from detectors.extract.blob import Blob

UNKNOWN_BINARY = "application/octet-stream"
TEXT = "text/plain"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"
OLE = "application/x-ole-storage"
OFFICE_ENCRYPTED = "application/x-ms-office-encrypted"
ZIP = "application/zip"
TAR = "application/x-tar"
GZIP = "application/gzip"
BZIP2 = "application/x-bzip2"
XZ = "application/x-xz"
SEVENZ = "application/x-7z-compressed"
PDF = "application/pdf"
RTF = "application/rtf"
HTML = "text/html"
XML = "application/xml"
EML = "message/rfc822"

#: (offset, magic, media type); checked in order
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PK\x03\x04", ZIP),
    (0, b"PK\x05\x06", ZIP),  # empty archive
    (0, b"PK\x07\x08", ZIP),  # spanned
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE),
    (0, b"{\\rtf", RTF),
    (0, b"\x1f\x8b", GZIP),
    (0, b"BZh", BZIP2),
    (0, b"\xfd7zXZ\x00", XZ),
    (0, b"7z\xbc\xaf\x27\x1c", SEVENZ),
    (257, b"ustar", TAR),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"\x00\x00\x01\x00", "image/vnd.microsoft.icon"),
    (0, b"8BPS", "image/vnd.adobe.photoshop"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"\x1aE\xdf\xa3", "video/webm"),
    (0, b"\x7fELF", "application/x-executable"),
    (0, b"MZ", "application/vnd.microsoft.portable-executable"),
    (0, b"\xca\xfe\xba\xbe", "application/java-vm"),
    (0, b"\x00asm", "application/wasm"),
    (0, b"SQLite format 3\x00", "application/vnd.sqlite3"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"\x28\xb5\x2f\xfd", "application/zstd"),
    (0, b"\x04\x22\x4d\x18", "application/x-lz4"),
    (0, b"!<arch>\n", "application/x-archive"),
    (0, b"wOFF", "font/woff"),
    (0, b"wOF2", "font/woff2"),
)

_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{1,40}:[ \t]?[^\r\n]*\r?$")
_MAIL_HEADERS = {b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"received",
                 b"return-path", b"content-type", b"delivered-to", b"reply-to", b"cc", b"x-mailer"}


EMPTY = "application/x-empty"


def sniff_head(head: bytes) -> str:
    """The media type decidable from the first bytes alone (ZIP/OLE unrefined)."""
    if not head:
        return EMPTY
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return PDF
    for off, magic, media in _MAGIC:
        if head[off:off + len(magic)] == magic:
            return media
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(
            head[8:12], UNKNOWN_BINARY)
    if head[4:8] == b"ftyp":
        return "video/mp4" if head[8:11] not in (b"hei", b"avi", b"mif") else "image/heif"
    if head[:2] == b"BM" and len(head) > 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "image/bmp"
    from detectors.extract.text import detect_encoding

    found = detect_encoding(head)
    if found is None:
        return UNKNOWN_BINARY
    enc, bom = found
    text = head[bom:].decode(enc, "replace").lstrip("\ufeff \t\r\n")
    low = text[:2048].lower()
    if low.startswith(("<!doctype html", "<html")) or (low.startswith("<") and ("<html" in low or "<body" in low)):
        return HTML
    # XML only when it says so (declaration, or a namespaced root): a text file
    # that merely starts with "<" would stop at the first parse error as XML,
    # while the text reader loses nothing.
    if low.startswith("<?xml") or re.match(r"<[a-z_][\w.:-]*\s[^>]*xmlns[:=]", low):
        return HTML if "<html" in low else XML
    if enc in ("utf-8", "cp1252", "latin-1", "gb18030", "big5") and _looks_like_mail(head[bom:]):
        return EML
    return TEXT


def _looks_like_mail(head: bytes) -> bool:
    names = set()
    for line in head.split(b"\n", 60)[:60]:
        if line in (b"", b"\r"):
            break
        if line[:1] in (b" ", b"\t"):
            continue  # folded header continuation
        if not _HEADER_LINE.match(line):
            return False
        names.add(line.split(b":", 1)[0].lower())
    known = names & _MAIL_HEADERS
    return len(known) >= 2 and bool(known & {b"from", b"received", b"mime-version", b"message-id", b"subject"})


def sniff(blob: Blob) -> str:
    media = sniff_head(blob.head())
    if media == ZIP:
        return _refine_zip(blob)
    if media == OLE:
        return _refine_ole(blob)
    return media


def _refine_zip(blob: Blob) -> str:
    try:
        with zipfile.ZipFile(blob.file()) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                info = zf.getinfo("mimetype")
                if info.file_size < 200 and not info.flag_bits & 1:
                    declared = zf.read(info).decode("ascii", "replace").strip()
                    if declared in (ODT, ODS, ODP):
                        return declared
                    if declared.startswith(ODT):  # templates etc.
                        return ODT
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return DOCX
                if "xl/workbook.xml" in names:
                    return XLSX
                if "ppt/presentation.xml" in names:
                    return PPTX
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, NotImplementedError):
        # Truncated or damaged: the central directory is gone, but the local
        # headers at the start still name the parts. The extractor for that
        # type then reports the damage; a broken .docx is not a disguise.
        blob.damaged = True
        return _refine_by_local_names(blob.head())
    return ZIP


def _refine_by_local_names(head: bytes) -> str:
    m = re.search(rb"mimetypeapplication/vnd\.oasis\.opendocument\.(text|spreadsheet|presentation)", head[:200])
    if m:
        return {b"text": ODT, b"spreadsheet": ODS, b"presentation": ODP}[m.group(1)]
    for marker, media in ((b"word/document.xml", DOCX), (b"xl/workbook.xml", XLSX), (b"xl/worksheets/", XLSX),
                          (b"ppt/presentation.xml", PPTX), (b"ppt/slides/", PPTX)):
        if marker in head:
            return media
    return ZIP


def _refine_ole(blob: Blob) -> str:
    import olefile

    try:
        ole = olefile.OleFileIO(blob.file())
    except Exception:  # noqa: BLE001 - corrupt OLE header: report as the generic type
        return OLE
    try:
        streams = {"/".join(p) for p in ole.listdir(streams=True, storages=False)}
        if "EncryptedPackage" in streams:
            return OFFICE_ENCRYPTED
        if "WordDocument" in streams:
            return DOC
        if "Workbook" in streams or "Book" in streams:
            return XLS
        if "PowerPoint Document" in streams:
            return PPT
        return OLE
    finally:
        ole.close()


# Disguise: which real types an extension may honestly carry.
_TEXTLIKE = frozenset({TEXT, HTML, XML, EML})
_BY_EXTENSION: dict[str, frozenset[str]] = {
    # a password-protected OOXML file is an OLE file holding an EncryptedPackage
    "docx": frozenset({DOCX, OFFICE_ENCRYPTED}), "docm": frozenset({DOCX, OFFICE_ENCRYPTED}),
    "dotx": frozenset({DOCX, OFFICE_ENCRYPTED}),
    "xlsx": frozenset({XLSX, OFFICE_ENCRYPTED}), "xlsm": frozenset({XLSX, OFFICE_ENCRYPTED}),
    "xltx": frozenset({XLSX, OFFICE_ENCRYPTED}),
    "pptx": frozenset({PPTX, OFFICE_ENCRYPTED}), "pptm": frozenset({PPTX, OFFICE_ENCRYPTED}),
    "ppsx": frozenset({PPTX, OFFICE_ENCRYPTED}),
    "odt": frozenset({ODT}), "ods": frozenset({ODS}), "odp": frozenset({ODP}),
    "doc": frozenset({DOC, RTF, OFFICE_ENCRYPTED, DOCX, HTML}),
    "xls": frozenset({XLS, OFFICE_ENCRYPTED, XLSX, HTML, XML, TEXT}),
    "ppt": frozenset({PPT, OFFICE_ENCRYPTED}),
    "pdf": frozenset({PDF}), "rtf": frozenset({RTF}),
    "zip": frozenset({ZIP, DOCX, XLSX, PPTX, ODT, ODS, ODP}), "jar": frozenset({ZIP}),
    "tar": frozenset({TAR}), "gz": frozenset({GZIP}), "tgz": frozenset({GZIP}),
    "bz2": frozenset({BZIP2}), "tbz2": frozenset({BZIP2}), "xz": frozenset({XZ}), "txz": frozenset({XZ}),
    "7z": frozenset({SEVENZ}),
    "eml": frozenset({EML, TEXT}), "msg": frozenset({OLE}),
    "html": _TEXTLIKE, "htm": _TEXTLIKE, "xml": _TEXTLIKE,
    "txt": _TEXTLIKE, "csv": _TEXTLIKE, "log": _TEXTLIKE, "md": _TEXTLIKE, "json": _TEXTLIKE,
    "jpg": frozenset({"image/jpeg"}), "jpeg": frozenset({"image/jpeg"}), "png": frozenset({"image/png"}),
    "gif": frozenset({"image/gif"}), "bmp": frozenset({"image/bmp"}), "webp": frozenset({"image/webp"}),
    "tif": frozenset({"image/tiff"}), "tiff": frozenset({"image/tiff"}),
    "mp3": frozenset({"audio/mpeg"}), "wav": frozenset({"audio/wav"}), "mp4": frozenset({"video/mp4"}),
    "mov": frozenset({"video/mp4"}), "avi": frozenset({"video/x-msvideo"}),
    "exe": frozenset({"application/vnd.microsoft.portable-executable"}),
    "dll": frozenset({"application/vnd.microsoft.portable-executable"}),
}


def extension_of(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base.strip(".") else ""


def extension_mismatch(name: str, media_type: str) -> bool:
    """True when the name's extension promises a type the content is not."""
    allowed = _BY_EXTENSION.get(extension_of(name))
    # An unrecognised binary under .jpg is damaged, not disguised; text under
    # .jpg is a disguise.
    return allowed is not None and media_type not in allowed and media_type not in (UNKNOWN_BINARY, EMPTY)
