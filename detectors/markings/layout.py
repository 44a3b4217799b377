"""Does a word stand as a marking? Layout rules shared by the marking detectors.

A classification word counts only where it is used *as a marking* (DESIGN.md,
"Detector ids"): on a line of its own (give or take companions such as a copy
number, a "密级：" label or a page number) in the head or foot of a document
or page, in a header/footer part, or at the start of a line in one of the
legal forms (机密★5年). The same word in running prose is not a marking. The
detectors find candidate words with a regex; the functions here judge the
line the candidate stands on, always against the whole segment text (not the
engine's verification window), so a window edge never changes a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Match, Severity

#: non-empty lines from the document/page edge that still count as its head or foot
EDGE_LINES = 6
_BREAKS = "\n\r\f"
#: decoration a marking line may carry around the word (rules, bullets, bold)
_DECOR = re.compile(r"[\s\-‐‑–—―_=|*~•·・.:：,，;；/]+")
#: an opening quote or bracket right before a word means it is quoted, not used
_OPENERS = frozenset("“‘\"'「『《〈【〔[（(<«‹")

# --- prefilter building blocks (Hyperscan-compatible: ASCII classes, no lookaround)
#: horizontal white space incl. the ideographic space U+3000 (an alternation:
#: non-ASCII characters must not appear inside a class)
PF_WS = "(?:[ \\t]|\u3000)"
PF_STAR = "(?:★|☆|✩|✭|⭐)"
PF_EOL = "(?:\\r|\\n|\\f|$)"


def edge_prefilter(tokens: Sequence[str], *, lead: int = 30, trail: str = "") -> str:
    """A prefilter that fires on ``tokens`` only near a line edge.

    Either a token ends its line (optionally followed by a ★ or by ``trail``),
    or it begins within ``lead`` bytes of a line start. Words in the middle
    of long prose lines never reach the Python-level verification, which keeps
    common words such as 内部 or "internal" cheap in long documents.
    """
    alt = "|".join(tokens)
    after = f"{PF_WS}*(?:{PF_STAR}|{PF_EOL}{('|' + trail) if trail else ''})"
    return f"(?:{alt}){after}|(?:^|[\\r\\n\\f])[^\\r\\n\\f]{{0,{lead}}}(?:{alt})"


@dataclass(frozen=True, slots=True)
class Line:
    """The line a candidate stands on, split around the candidate."""

    start: int
    end: int
    before: str
    after: str

    @classmethod
    def around(cls, text: str, start: int, end: int) -> "Line":
        ls = max(text.rfind(c, 0, start) for c in _BREAKS) + 1
        ends = [i for i in (text.find(c, end) for c in _BREAKS) if i >= 0]
        le = min(ends) if ends else len(text)
        return cls(ls, le, text[ls:start], text[end:le])

    @property
    def quoted(self) -> bool:
        stripped = self.before.rstrip()
        return bool(stripped) and stripped[-1] in _OPENERS


def bare(fragment: str, companions: re.Pattern[str] | None = None) -> str:
    """What is left of a line fragment once companions and decoration are removed."""
    if companions is not None:
        fragment = companions.sub(" ", fragment)
    return _DECOR.sub("", fragment)


def at_edge(segment: Segment, line: Line, lines: int = EDGE_LINES) -> bool:
    """Is ``line`` in the head or foot of its document or page?

    Head: fewer than ``lines`` non-empty lines stand between it and the start
    of the document (when the segment touches it) or a page break (form feed).
    Foot: the same towards the end. Everything in a header/footer part is.
    """
    if segment.is_margin:
        return True
    return _near_start(segment, line.start, lines) or _near_end(segment, line.end, lines)


def _near_start(segment: Segment, pos: int, lines: int) -> bool:
    text, seen = segment.text, 0
    while True:
        if pos <= 0:
            return segment.at_start
        if text[pos - 1] == "\f":
            return True
        prev = max(text.rfind(c, 0, pos - 1) for c in _BREAKS) + 1
        if not text[prev:pos - 1].isspace() and prev < pos - 1:
            seen += 1
            if seen >= lines:
                return False
        pos = prev


def _near_end(segment: Segment, pos: int, lines: int) -> bool:
    text, seen, n = segment.text, 0, len(segment.text)
    while True:
        if pos >= n:
            return segment.at_end
        if text[pos] == "\f":
            return True
        ends = [i for i in (text.find(c, pos + 1) for c in _BREAKS) if i >= 0]
        nxt = min(ends) if ends else n
        if nxt > pos + 1 and not text[pos + 1:nxt].isspace():
            seen += 1
            if seen >= lines:
                return False
        pos = nxt


@dataclass(frozen=True, slots=True)
class Verdict:
    """A candidate judged to be a marking: the span to report and what it says."""

    start: int
    end: int
    confidence: float
    severity: Severity
    attributes: dict[str, Any] = field(default_factory=dict)


class MarkingDetector(PatternDetector):
    """A pattern detector whose candidates are judged by their layout.

    Subclasses implement :meth:`judge`; it sees the regex match on the whole
    segment text and returns a :class:`Verdict` or ``None``. Severity is per
    finding (绝密 is critical, 秘密 high), so verification is overridden here.
    """

    margin: ClassVar[int] = 64

    def judge(self, m: re.Match[str], segment: Segment) -> Verdict | None:
        raise NotImplementedError

    def verify(self, segment: Segment, start: int, end: int) -> Iterator[Match]:
        text = segment.text
        for m in self.pattern.finditer(text, start, end):
            v = self.judge(m, segment)
            if v is None:
                continue
            yield Match(
                detector=self.id,
                start=v.start,
                end=v.end,
                value=text[v.start:v.end],
                confidence=v.confidence,
                severity=v.severity,
                attributes=v.attributes,
            )


# --- Chinese marking lines (GB/T 9704: 份号, 密级和保密期限, 紧急程度 head the page)
_CN_NUM = "(?:\\d{1,3}|[一二三四五六七八九十两〇零]{1,3})"
#: 保密期限 (5年, 6个月, 长期), 解密时间 (2027年12月31日) or 解密条件 (…后解密)
CN_PERIOD = (
    "(?:\\d{4}\\s*年\\s*\\d{1,2}\\s*月(?:\\s*\\d{1,2}\\s*日)?(?:前|止)?"
    "|\\d{4}[-./]\\d{1,2}[-./]\\d{1,2}"
    "|长期|長期"
    f"|{_CN_NUM}\\s*(?:年|个月|個月|月|天|日)"
    "|[^\\s，。；;、,.!?！？“”\"'「」『』()（）★☆]{1,30}?解密)"
)
_STAR = "[★☆✩✭⭐]"
#: the marking proper: a ★ and an optional period, with optional spaces around ★
CN_STAR_PERIOD = f"(?:[ \\t\u3000]*(?P<star>{_STAR})[ \\t\u3000]*(?P<period>{CN_PERIOD})?)"
#: what may share a Chinese marking line without making it prose
CN_COMPANIONS = re.compile(
    "份[号號][:：]?\\s*[0-9A-Za-z\\-]*"
    "|[编編][号號][:：]?\\s*[0-9A-Za-z\\-]*"
    "|密[级級](?:[和及]保密期限)?[:：]?"
    f"|保密期限[:：]?\\s*(?:{CN_PERIOD})?"
    "|紧急程度[:：]?|緊急程度[:：]?|特急|加急|特提|平急"
    f"|{_STAR}"
    "|第?\\s*\\d{1,8}\\s*[页頁]?"  # copy numbers, page numbers
)
_LABEL = re.compile("密[级級](?:[和及]保密期限)?\\s*[:：]?\\s*$")
_PERIOD_AFTER = re.compile(f"保密期限[:：]?\\s*(?P<period>{CN_PERIOD})")


def cn_labelled(line: Line) -> bool:
    """Does a "密级：" label introduce the word (密级：机密)?"""
    return bool(_LABEL.search(line.before))


def cn_period_after(line: Line) -> str | None:
    """A 保密期限 given separately on the same line (密级：机密 保密期限：10年)."""
    m = _PERIOD_AFTER.search(line.after)
    return m.group("period") if m else None


def normalise_cn(word: str) -> str:
    """Traditional to simplified for the characters markings use."""
    return word.translate(_T2S)


_T2S = str.maketrans("絕機級號編長個內資緊頁僅嚴業", "绝机级号编长个内资紧页仅严业")


# --- English marking lines
#: what may share an English banner line: a "Classification:" label, page and copy numbers
EN_COMPANIONS = re.compile(
    r"(?i:(?:security\s+)?classification|sensitivity(?:\s+label)?|label|marking)\s*:"
    r"|(?i:page)\s*\d+(?:\s*(?:of|/)\s*\d+)?"
    r"|(?i:copy)\s+(?:(?i:no)\.?\s*)?\d+(?:\s+(?i:of)\s+\d+)?"
    r"|\b\d{1,4}\b"
)
_EN_LABEL = re.compile(r"(?i:(?:security\s+)?classification|sensitivity(?:\s+label)?|label|marking)\s*:\s*$")


def en_labelled(line: Line) -> bool:
    """Does a "Classification:" label introduce the word?"""
    return bool(_EN_LABEL.search(line.before))
