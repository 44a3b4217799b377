"""One extraction walk: the limits, the shared budget, the nesting depth, and
the dispatcher that sends each piece of content to the extractor for its type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from leakwarden.errors import EncryptedContent, LimitExceeded

from detectors.extract.blob import Blob
from detectors.extract.limits import Budget, ExtractLimits
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.sniff import EMPTY, UNKNOWN_BINARY, extension_mismatch, sniff

Item = Segment | Notice


@dataclass
class Walk:
    limits: ExtractLimits
    budget: Budget
    depth: int = 0
    #: (member name, stored CRC, CRC of the content) of ZIP members read with a
    #: wrong CRC, waiting to be reported (archive.crc_notices)
    bad_crc: list[tuple[str, int, int]] = field(default_factory=list)

    def descend(self, blob: Blob) -> Iterator[Item]:
        """Extract a member or attachment one level deeper."""
        child = Walk(self.limits, self.budget, self.depth + 1)
        if child.depth > self.limits.max_depth:
            yield Notice("container.limit_exceeded", blob.display,
                         f"nesting deeper than {self.limits.max_depth} levels",
                         {"limit": "max_depth", "depth": child.depth})
            return
        yield from extract_blob(blob, child)


def extract_blob(blob: Blob, walk: Walk, media_type: str | None = None) -> Iterator[Item]:
    """Sniff ``blob`` (unless its type is known) and run its extractor.

    Failures inside become Notices, so the rest of an archive or mail goes on;
    whatever was yielded before a failure stays reported.
    """
    from detectors.extract.registry import EXTRACTORS  # the registry imports the format modules

    try:
        if media_type is None:
            media_type = sniff(blob)
            if walk.depth > 0 and not blob.damaged and extension_mismatch(blob.name, media_type):
                yield Notice("container.disguised", blob.display,
                             f"content is {media_type}, name says otherwise",
                             {"media_type": media_type, "name": blob.name})
        extractor = EXTRACTORS.get(media_type)
        if extractor is None:
            reason = {UNKNOWN_BINARY: "binary", EMPTY: "empty"}.get(media_type, media_type)
            yield Notice("skipped", blob.display, reason, {"media_type": media_type})
            return
        yield from extractor(blob, walk)
        if walk.bad_crc:  # parts read outside guarded() (relationships, workbook)
            from detectors.extract.archive import crc_notices

            yield from crc_notices(walk, blob.display)
    except LimitExceeded as e:
        yield Notice("container.limit_exceeded", blob.display, e.reason, {"media_type": media_type})
    except EncryptedContent as e:
        yield Notice("container.encrypted", blob.display, str(e) or "encrypted", {"media_type": media_type})
    except RecursionError:
        yield Notice("error", blob.display, "structure nested too deeply to parse", {"media_type": media_type})
    except MemoryError:
        yield Notice("error", blob.display, "out of memory while extracting", {"media_type": media_type})
    except Exception as e:  # noqa: BLE001 - hostile input makes parsers raise anything; report and go on
        yield Notice("error", blob.display, f"cannot extract {media_type or 'content'}: {_describe(e)}",
                     {"media_type": media_type, "exception": type(e).__name__})
    finally:
        if walk.depth > 0:
            blob.close()


def _describe(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {msg[:200]}" if msg else type(e).__name__
