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
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from re import Pattern
from typing import Any, ClassVar

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Match, Severity

#: non-empty lines from the document/page edge that still count as its head or foot
EDGE_LINES = 6
#: line breaks: \v and U+2028/2029 are what some editors write for a manual line break
_BREAKS = "\n\r\f\v\u2028\u2029"
_BREAK = re.compile(f"[{_BREAKS}]")
#: characters looked at on each side of a candidate when finding its line
MAX_LINE = 200
#: decoration a marking line may carry around the word (rules, bullets, bold,
#: zero-width characters and a stray byte-order mark)
_DECOR_CHARS = "‐‑–—―•·・：，；\u200b\u200c\u200d\u2060\ufeff"
_DECOR = re.compile(f"[\\s\\-_=|*~.:,;/{_DECOR_CHARS}]+")
#: an opening quote or bracket right before a word means it is quoted, not used
_OPENERS = frozenset("“‘\"'「『《〈【〔[（(<«‹")
#: brackets that may enclose a marking standing alone at the start of its line (【机密】, [Confidential])
_BRACKETS = {"【": "】", "〔": "〕", "[": "]", "［": "］", "（": "）", "(": ")"}

# --- prefilter building blocks (Hyperscan-compatible: ASCII classes, no lookaround).
# Shapes matter to Hyperscan: a token alternation followed by a class repeat and
# then an alternation of multi-byte literals ("(?:…)[ \t]*(?:★|☆)") scans ten
# times slower, and with 26 Chinese literals it even crashed hs_scan (segfault,
# python-hyperscan 0.9.1). So every clause below is "tokens + ASCII class
# repeat + ASCII class" or "tokens + literal alternation", never both.
#: the end of a line (\v included: some editors write it for a manual line break)
PF_EOL = "(?:[\\r\\n\\f\\x0b]|$)"
#: the start of the text or of a line
PF_BOL = "(?:^|[\\r\\n\\f\\x0b]|\u2028|\u2029)"
PF_STAR = "★|☆|✩|✭|⭐|＊"
#: what may follow a Chinese marking word on its line (份号 may also come last)
PF_CN_TRAIL = "保密期限|份号|份號|编号|編號|特急|加急|特提|平急|紧急程度|緊急程度|严禁|禁止|请勿"
#: non-ASCII characters that may come right after a marking word: ★, a companion, a
#: closing bracket (内部资料（注意保存）), an ideographic or zero-width space, a dash,
#: a Unicode line break
PF_FOLLOW = f"{PF_STAR}|{PF_CN_TRAIL}|）|】|\u3000|\u200b|\ufeff|–|—|\u2028|\u2029"
#: what may precede an English marking word: a little ASCII ("Classification:",
#: a copy number, an organisation's name)
PF_EN_LEAD = "[\\t\\x20-\\x7e]{0,24}"
#: distribution notices that end a Chinese marking line; after a comma (内部资料，请勿外传)
#: only the notice itself is anchored, the window holds the word (cheaper than a clause
#: of every token followed by every punctuation mark)
PF_CN_NOTICE = "请勿外传|請勿外傳|严禁外传|嚴禁外傳|禁止外传|不得外传|不得外傳|注意保密|妥善保管"


def edge_prefilter(tokens: Sequence[str], *, trail: str = "") -> str:
    """A prefilter that fires on ``tokens`` only where a marking line can be.

    A token fires when it ends its line (give or take spaces and closing
    brackets), when a ★, a companion (保密期限, 份号 ...) or another non-ASCII
    character of :data:`PF_FOLLOW` follows it, when spaces and then any
    non-ASCII character follow it (机密 ★5年), when ``trail`` (an ASCII class
    such as ``[-|/(]``) follows it after optional spaces, when a 密级 label
    (密级：) precedes it, and, for English tokens, near the start of a line.
    Words inside prose (公司内部控制, "kept confidential") never reach the
    Python-level verification, which keeps everyday words such as 内部 or
    "internal" cheap in long documents. (A Chinese marking that neither ends
    its line nor carries a ★ is not a marking, so Chinese tokens need no
    line-start clause.)
    """
    alt = f"(?:{'|'.join(tokens)})"
    clauses = [
        f"{alt}[ \\t)\\]]*{PF_EOL}",
        f"{alt}(?:{PF_FOLLOW})",
        f"{alt}[ \\t]+[\\x80-\\xff]",
    ]
    if trail:
        clauses.append(f"{alt}[ \\t]*{trail}")
    cn = "|".join(t for t in tokens if not t.isascii())
    if cn:
        clauses.append(f"(?:{PF_CN_NOTICE})[ \\t]*{PF_EOL}")
        clauses.append(f"(?:密级|密級)(?:[ \\t:]|：|\u3000|[和及]保密期限)*(?:{cn})")
    en = "|".join(t for t in tokens if t.isascii())
    if en:
        clauses.append(f"{PF_BOL}{PF_EN_LEAD}(?:{en})")
    return "|".join(clauses)


@dataclass(frozen=True, slots=True)
class Line:
    """The line a candidate stands on, split around the candidate."""

    start: int
    end: int
    before: str
    after: str

    @classmethod
    def around(cls, text: str, start: int, end: int) -> "Line":
        # A marking line is short: look no further than MAX_LINE each way, so
        # long prose paragraphs cost O(MAX_LINE), not a search to the text's end.
        # A longer line keeps MAX_LINE characters of prose on that side.
        lo = max(0, start - MAX_LINE)
        i = _prev_break(text, start, lo)
        ls = i + 1 if i >= 0 else lo
        m = _BREAK.search(text, end, end + MAX_LINE)
        le = m.start() if m else min(len(text), end + MAX_LINE)
        before, after = text[ls:start], text[end:le]
        # a bracket that opens the line and closes right after the word frames a
        # marking ([CONFIDENTIAL], 【机密】) rather than quoting it: drop the pair
        head = before.rstrip()
        if head and head[-1] in _BRACKETS and not head[:-1].strip():
            tail = after.lstrip()
            if tail.startswith(_BRACKETS[head[-1]]):
                before = before[:len(head) - 1] + " " + before[len(head):]
                cut = len(after) - len(tail)
                after = after[:cut] + " " + after[cut + 1:]
        return cls(ls, le, before, after)

    @property
    def runs_on(self) -> bool:
        """Does text continue right after the candidate, with no space or punctuation (机密★5年表示……)?"""
        return bool(self.after) and self.after[0].isalnum()

    @property
    def quoted(self) -> bool:
        stripped = self.before.rstrip()
        return bool(stripped) and stripped[-1] in _OPENERS


def _prev_break(text: str, pos: int, lo: int = 0) -> int:
    """Index of the last line break in text[lo:pos], or -1; cost grows with the distance only."""
    step = 256
    while pos > lo:
        start = max(lo, pos - step)
        i = max(text.rfind(c, start, pos) for c in _BREAKS)
        if i >= 0:
            return i
        pos, step = start, step * 4
    return -1


def _next_break(text: str, pos: int) -> int:
    """Index of the first line break at or after pos, or len(text)."""
    m = _BREAK.search(text, pos)
    return m.start() if m else len(text)


@dataclass(frozen=True, slots=True)
class Companions:
    """What may share a marking line: a regex, and the characters it is made of.

    ``chars`` lets :func:`bare` reject a prose fragment (one character no
    companion uses is enough) without running the companion regex.
    """

    pattern: re.Pattern[str]
    chars: re.Pattern[str]

    @classmethod
    def of(cls, pattern: str, chars: str) -> "Companions":
        allowed = re.escape("".join(sorted(set(chars + _DECOR_CHARS))))
        return cls(re.compile(pattern), re.compile(f"[\\x00-\\x7f\u3000{allowed}]*"))

    def __or__(self, other: "Companions") -> "Companions":
        return Companions(
            re.compile(f"{self.pattern.pattern}|{other.pattern.pattern}"),
            re.compile(self.chars.pattern[:-2] + other.chars.pattern[1:]),
        )


def bare(fragment: str, companions: Companions | None = None) -> str:
    """What is left of a line fragment once companions and decoration are removed."""
    fragment = fragment.strip()
    if not fragment:
        return ""
    if len(fragment) > MAX_LINE // 2 or fragment.count(" ") > 8:
        return fragment  # far too long for companions: prose
    if companions is not None:
        if not companions.chars.fullmatch(fragment):
            return fragment
        fragment = companions.pattern.sub(" ", fragment)
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


def edge_form(segment: Segment) -> str:
    """How an own-line marking stands: in a "header"/"footer" part, or a "banner" line."""
    if segment.is_margin:
        return "footer" if "footer" in segment.part else "header"
    return "banner"


def neighbours(text: str, line: Line) -> tuple[str, str]:
    """The nearest non-empty lines before and after ``line`` on its page ("" if none),
    stripped of white space and of list bullets or numbers ("- ", "2. ", "b) ")."""
    pos, before = line.start, ""
    while pos > 0 and not before and text[pos - 1] != "\f":
        prev = _prev_break(text, pos - 1) + 1
        before, pos = _LIST_ITEM.sub("", text[prev:pos - 1].strip()), prev
    pos, after, n = line.end, "", len(text)
    while pos < n and not after and text[pos] != "\f":
        nxt = _next_break(text, pos + 1)
        after, pos = _LIST_ITEM.sub("", text[pos + 1:nxt].strip()), nxt
    return before, after


def in_list(text: str, line: Line, listed: Pattern[str]) -> bool:
    """Is a neighbouring line another item like this one (绝密 / 机密 / 秘密 one per line)?"""
    return any(listed.fullmatch(n) for n in neighbours(text, line))


_LIST_ITEM = re.compile(r"^(?:[-*•·]|\d{1,2}[.)、]|[A-Za-z][.)]|[一二三四五六七八九十][、.])\s*")


def _near_start(segment: Segment, pos: int, lines: int) -> bool:
    text, seen = segment.text, 0
    while True:
        if pos <= 0:
            return segment.at_start
        if text[pos - 1] == "\f":
            return True
        prev = _prev_break(text, pos - 1) + 1
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
        nxt = _next_break(text, pos + 1)
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


#: candidates rejected in a row, in the body of one page or on one line, after which the
#: rest of that body (up to the page's foot) or line is not examined
MAX_REJECTED = 64
_NONBLANK = re.compile(r"\S")


def page_zones(text: str, pos: int, lines: int = EDGE_LINES) -> tuple[int, int, int]:
    """(page end, body start, foot start) of the page holding ``pos``.

    A line that starts at or after the body start and ends before the foot start
    has more than ``lines`` non-empty lines before and after it on its page, so
    :func:`at_edge` is false for it (outside header/footer parts). Both walks
    visit ``lines + 1`` non-empty lines and the blank ones between: done once
    per page, not per candidate.
    """
    ps = text.rfind("\f", 0, pos) + 1
    pe = text.find("\f", pos)
    pe = len(text) if pe < 0 else pe
    i, seen = ps, 0
    while seen <= lines:
        m = _NONBLANK.search(text, i, pe)
        if m is None:
            return pe, pe, pe  # fewer lines than a head and a foot: no body
        seen += 1
        i = _next_break(text, m.start()) + 1
    body = i
    j, seen = pe, 0
    while j > ps:
        nb = _prev_break(text, j, ps)
        ls = nb + 1 if nb >= 0 else ps
        if not text[ls:j].isspace() and ls < j:
            seen += 1
            if seen > lines:
                return pe, body, ls
        j = max(nb, ps)
    return pe, pe, pe


class _Budget:
    """Per thread and segment: rejected candidates in a row, and where judging resumes.

    Text crowded with marking words ("秘密\n" three million times) would otherwise
    cost a full layout analysis per candidate; real markings stand in the head and
    foot of pages, which are always examined.
    """

    __slots__ = ("segment", "window_end", "skip_until", "zones", "body_rejected", "line_rejected", "last_end")

    def __init__(self, segment: Segment) -> None:
        self.segment = segment
        self.window_end = 0
        self.skip_until = 0
        self.zones = (-1, -1, -1, -1)  # page start, page end, body start, foot start
        self.body_rejected = self.line_rejected = 0
        self.last_end = -1

    def rejected(self, text: str, segment: Segment, start: int, end: int) -> None:
        same_line = self.last_end >= 0 and _BREAK.search(text, self.last_end, start) is None
        self.line_rejected = self.line_rejected + 1 if same_line else 1
        self.last_end = end
        if self.line_rejected >= MAX_REJECTED:  # one long line of candidates: on to the next line
            self.skip_until, self.line_rejected = _next_break(text, end), 0
            return
        if segment.is_margin:
            return
        ps, pe, body, foot = self.zones
        if not ps <= start < pe:
            pe, body, foot = page_zones(text, start)
            self.zones = (text.rfind("\f", 0, start) + 1, pe, body, foot)
        if body <= start and end < foot:
            self.body_rejected += 1
            if self.body_rejected >= MAX_REJECTED:  # the rest of this page's body
                self.skip_until, self.body_rejected = foot, 0

    def accepted(self) -> None:
        self.body_rejected = self.line_rejected = 0


class MarkingDetector(PatternDetector):
    """A pattern detector whose candidates are judged by their layout.

    Subclasses implement :meth:`judge`; it sees the regex match on the whole
    segment text and returns a :class:`Verdict` or ``None``. Severity is per
    finding (绝密 is critical, 秘密 high), so verification is overridden here.

    Judging is bounded: after :data:`MAX_REJECTED` candidates in a row are
    rejected in the body of a page (more than :data:`EDGE_LINES` non-empty lines
    from its head and foot), the rest of that body is skipped, and after as many
    on one line, the rest of the line. The head and foot of every page are
    always judged, so a crowded file keeps its real markings.
    """

    margin: ClassVar[int] = 64
    _budgets: ClassVar[threading.local] = threading.local()

    def judge(self, m: re.Match[str], segment: Segment) -> Verdict | None:
        raise NotImplementedError

    def _budget(self, segment: Segment, start: int, end: int) -> _Budget:
        # the engine verifies a segment's windows in order and without overlap; a window
        # that starts before the last one ended is a new pass over the segment
        budgets: dict[MarkingDetector, _Budget] = self._budgets.__dict__.setdefault("by_detector", {})
        b = budgets.get(self)
        if b is None or b.segment is not segment or start < b.window_end:
            b = budgets[self] = _Budget(segment)
        b.window_end = end
        return b

    def verify(self, segment: Segment, start: int, end: int) -> Iterator[Match]:
        text = segment.text
        budget = self._budget(segment, start, end)
        pos = start
        while pos < end:
            if pos < budget.skip_until:
                pos = budget.skip_until
                continue
            m = self.pattern.search(text, pos, end)
            if m is None:
                break
            pos = max(m.end(), m.start() + 1)
            if m.start() < budget.skip_until:
                continue
            v = self.judge(m, segment)
            if v is None:
                budget.rejected(text, segment, m.start(), m.end())
                continue
            budget.accepted()
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
_CN_DATE = (
    "\\d{4}\\s*年\\s*\\d{1,2}\\s*月(?:\\s*\\d{1,2}\\s*日)?(?:前|止)?"
    "|\\d{4}[-./]\\d{1,2}[-./]\\d{1,2}"
)
#: 解密条件 text: up to the next punctuation mark or space
_CN_CONDITION = "[^\\s，。；;、,.!?！？“”\"'「」『』()（）★☆]{1,30}"
#: 保密期限 (5年, 6个月, 长期), 解密时间 (2027年12月31日), 解密条件 (…后解密), and the
#: labelled forms 解密时间：2027年12月31日 / 解密条件：项目验收后
CN_PERIOD = (
    f"(?:解密(?:时间|時間)\\s*[:：]?\\s*(?:{_CN_DATE})"
    f"|解密(?:条件|條件)\\s*[:：]?\\s*{_CN_CONDITION}"
    "|\\d{4}\\s*年\\s*\\d{1,2}\\s*月(?:\\s*\\d{1,2}\\s*日)?(?:前|止)?"
    "|\\d{4}[-./]\\d{1,2}[-./]\\d{1,2}"
    "|长期|長期"
    f"|{_CN_NUM}\\s*(?:年|个月|個月|月|天|日)"
    "|[^\\s，。；;、,.!?！？“”\"'「」『』()（）★☆]{1,30}?解密)"
)
_STAR = "[★☆✩✭⭐＊]"
#: the marking proper: a ★ and an optional period, with optional spaces around ★
CN_STAR_PERIOD = f"(?:[ \\t\u3000]*(?P<star>{_STAR})(?:[ \\t\u3000]*(?P<period>{CN_PERIOD}))?)"
#: what may share a Chinese marking line without making it prose
CN_COMPANIONS = Companions.of(
    "份[号號][:：]?\\s*[0-9A-Za-z\\-]*"
    "|[编編][号號][:：]?\\s*[0-9A-Za-z\\-]*"
    "|密[级級](?:[和及]保密期限)?[:：]?"
    f"|保密期限[:：]?\\s*(?:{CN_PERIOD})?"
    "|紧急程度[:：]?|緊急程度[:：]?|特急|加急|特提|平急"
    "|[严嚴禁][禁止]外[传傳]|请勿外传|請勿外傳|不得外[传傳]|注意保密|妥善保管"
    f"|{_STAR}"
    "|第?\\s*\\d{1,8}\\s*[页頁]?",  # copy numbers, page numbers
    "份号號编編密级級和及保期限紧緊急程度特加提平第页頁★☆✩✭⭐：年月日个個天长長前止解"
    "一二三四五六七八九十两〇零严嚴禁外传傳请請勿不得注意妥善管（）、",
)
_LABEL = re.compile("密[级級](?:[和及]保密期限)?\\s*[:：]?\\s*$")
_PERIOD_AFTER = re.compile(f"(?:保密期限[:：]?\\s*|(?=解密(?:时间|時間|条件|條件)))(?P<period>{CN_PERIOD})")
#: a document's header block names the field: 文件密级：秘密 (only at the head or foot, see cn_form)
_DOC_LABEL = re.compile("(?:文件|文档|文檔|资料|資料|档案|檔案)密[级級]\\s*[:：]?")


def cn_labelled(line: Line) -> bool:
    """Does a "密级：" label introduce the word (密级：机密)?"""
    return bool(_LABEL.search(line.before))


def cn_rest(line: Line) -> str:
    """What is left after the word once companions (incl. a 保密期限 of any form) are removed."""
    return bare(_PERIOD_AFTER.sub(" ", line.after), CN_COMPANIONS)


def cn_form(m: re.Match[str], segment: Segment, line: Line, *, listed: Pattern[str] | None = None) -> str | None:
    """How a Chinese candidate (a match with a ``star`` group) stands as a marking, or None.

    "legal": with a ★, at the start of its line (after companions only), not
    running on into a sentence; "label": own line after 密级：; "banner",
    "header", "footer": own line in the head/foot of a document or page or in
    such a part, unless a neighbouring line matches ``listed`` (a list of levels).
    """
    # 文件密级：秘密 heads the page of an official document; the same words in a
    # sentence (本文件密级：秘密，…) or in the body of a page are not a marking
    doc_label = _DOC_LABEL.fullmatch(line.before.strip()) is not None
    if line.quoted or (not doc_label and bare(line.before, CN_COMPANIONS)):
        return None
    rest = cn_rest(line)
    if m.group("star"):
        return None if line.runs_on and rest else "legal"  # not 机密★5年表示……
    if rest or line.runs_on:  # 机密编号 is a column heading, not 机密 + 编号
        return None
    if doc_label:
        return "label" if at_edge(segment, line) else None
    if cn_labelled(line):
        return "label"
    if not at_edge(segment, line):
        return None
    if listed is not None and in_list(segment.text, line, listed):
        return None
    return edge_form(segment)


def cn_period_after(line: Line) -> str | None:
    """A 保密期限 given separately on the same line (密级：机密 保密期限：10年)."""
    m = _PERIOD_AFTER.search(line.after)
    return m.group("period") if m else None


def normalise_cn(word: str) -> str:
    """Traditional to simplified for the characters markings use."""
    return word.translate(_T2S)


_T2S = str.maketrans("絕機級號編長個內資緊頁僅嚴業時間條", "绝机级号编长个内资紧页仅严业时间条")


# --- English marking lines
#: what may share an English banner line: a "Classification:" label, page and copy numbers
EN_COMPANIONS = Companions.of(
    r"(?i:(?:security\s+)?classification|sensitivity(?:\s+label)?|label|marking)\s*:"
    r"|(?i:page)\s*\d+(?:\s*(?:of|/)\s*\d+)?"
    r"|(?i:copy)\s+(?:(?i:no)\.?\s*)?\d+(?:\s+(?i:of)\s+\d+)?"
    r"|\b\d{1,4}\b",
    "",
)
_EN_LABEL = re.compile(r"(?i:(?:security\s+)?classification|sensitivity(?:\s+label)?|label|marking)\s*:\s*$")


def en_labelled(line: Line) -> bool:
    """Does a "Classification:" label introduce the word?"""
    return bool(_EN_LABEL.search(line.before))
