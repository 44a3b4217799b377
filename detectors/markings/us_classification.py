"""US national-security classification markings: banner lines and portion marks."""

from __future__ import annotations

import re
from typing import ClassVar

from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.markings.layout import (
    EN_COMPANIONS,
    PF_BOL,
    PF_EN_LEAD,
    PF_EOL,
    Line,
    MarkingDetector,
    Verdict,
    at_edge,
    bare,
    en_labelled,
    in_list,
)

_SEVERITY = {
    "TOP SECRET": Severity.CRITICAL,
    "SECRET": Severity.HIGH,
    "CONFIDENTIAL": Severity.HIGH,
    "UNCLASSIFIED": Severity.MEDIUM,
}
_PORTION_LEVEL = {"TS": "TOP SECRET", "S": "SECRET", "C": "CONFIDENTIAL", "U": "UNCLASSIFIED", "CUI": "UNCLASSIFIED"}
_CAVEAT_NAMES = {"NF": "NOFORN", "OC": "ORCON", "FOUO": "FOUO", "FOR OFFICIAL USE ONLY": "FOUO"}
#: controls that make an unclassified document worth reporting: FOUO and its successor,
#: Controlled Unclassified Information (banner CUI or CONTROLLED, portion mark (CUI))
_CONTROLS = frozenset(["FOUO", "CUI"])
_CUI_LEVEL = re.compile(r"CUI|CONTROLLED(?:\s+UNCLASSIFIED\s+INFORMATION)?")
#: a caveat: capitals and digits, words joined by single spaces (REL TO USA, FVEY)
_CAVEAT = r"[A-Z0-9][A-Z0-9,\-]*(?: [A-Z0-9][A-Z0-9,\-]*)*"
#: list labels that may precede a portion mark: "1.", "a)", "iv.", bullets
_LIST_LABEL = re.compile(r"^\s*(?:(?:\d{1,3}|[A-Za-z]|[ivxIVX]{1,4})[.)]|[-*•·])?\s*$")
#: multiple-choice or legal sub-items ((A) … (B) … (D)) turn "(C)" into a list label
_CHOICES = re.compile(r"(?m)^[ \t]*\((?:A|B|D|E)\)\s")
_COPYRIGHT = re.compile(r"\s*(?:\d{4}|[Cc]opyright|by\b)")
#: TOP SECRET / SECRET / CONFIDENTIAL one per line is a list of the levels, not a banner
_BARE_LEVEL = re.compile(r"(?:TOP SECRET|SECRET|CONFIDENTIAL|UNCLASSIFIED|RESTRICTED)[.,;]?")


class UsClassificationDetector(MarkingDetector):
    """TOP SECRET / SECRET / CONFIDENTIAL banners and (TS)/(S)/(C) portion marks.

    Banners are all capitals, optionally with ``//`` caveats (NOFORN, SCI,
    REL TO …, ORCON) and a "CLASSIFICATION:" label, on a line of their own in
    the head or foot of a document or page (anywhere when labelled). Portion
    marks start a paragraph and are followed by its text. (U) alone and an
    UNCLASSIFIED banner mark nothing; UNCLASSIFIED//FOUO and (U//FOUO) are
    reported at medium severity. Mixed-case "Confidential" is a corporate
    marking (``marking.corporate``), not a classification.
    """

    id = "marking.us_classification"
    severity = Severity.HIGH
    prefilter = (
        f"(?:TOP SECRET|SECRET|CONFIDENTIAL|UNCLASSIFIED|CUI|CONTROLLED)(?:[/ ,\\-A-Z0-9]*){PF_EOL}"
        f"|{PF_BOL}{PF_EN_LEAD}(?:TOP SECRET|SECRET|CONFIDENTIAL|CUI|CONTROLLED)"
        "|\\((?:TS|S|C|U|CUI)(?:\\)|//)"
    )
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        r"(?<![A-Za-z0-9_])(?:(?P<level>TOP[ \t\xa0]+SECRET|SECRET|CONFIDENTIAL|UNCLASSIFIED|CUI"
        r"|CONTROLLED(?:[ \t]+UNCLASSIFIED[ \t]+INFORMATION)?)(?![A-Za-z0-9_])"
        rf"(?P<caveats>(?:[ \t]*//?[ \t]*{_CAVEAT})*)"
        rf"|\((?P<portion>TS|S|C|U|CUI)(?://(?P<pcaveats>{_CAVEAT}(?://?{_CAVEAT})*))?\))"
    )

    def judge(self, m: re.Match[str], segment: Segment) -> Verdict | None:
        line = Line.around(segment.text, m.start(), m.end())
        if m.group("portion"):
            return self._portion(m, segment, line)
        level = " ".join(m.group("level").split())
        caveats = _caveats(m.group("caveats"))
        if _CUI_LEVEL.fullmatch(level):
            level, caveats = "UNCLASSIFIED", ["CUI", *caveats]
        if line.quoted or bare(line.before, EN_COMPANIONS) or bare(line.after, EN_COMPANIONS):
            return None
        if level == "UNCLASSIFIED" and _CONTROLS.isdisjoint(caveats):
            return None
        if en_labelled(line):
            form, confidence = "label", 0.9
        elif at_edge(segment, line) and (caveats or not in_list(segment.text, line, _BARE_LEVEL)):
            form, confidence = "banner", 0.9 if caveats or level == "TOP SECRET" else 0.8
        else:
            return None
        return Verdict(m.start(), m.end(), confidence, _SEVERITY[level],
                       {"level": level, "caveats": caveats, "form": form})

    def _portion(self, m: re.Match[str], segment: Segment, line: Line) -> Verdict | None:
        level = _PORTION_LEVEL[m.group("portion")]
        caveats = _caveats(m.group("pcaveats"))
        if m.group("portion") == "CUI":
            caveats = ["CUI", *caveats]
        text = segment.text
        # a portion mark opens a paragraph and is followed by its text: "(S) The …"
        if not _LIST_LABEL.match(line.before) or not line.after[:1].isspace() or not line.after.strip():
            return None
        if level == "UNCLASSIFIED" and not caveats:
            return None  # (U): unclassified, nothing to report
        if level == "CONFIDENTIAL" and not caveats:
            if _COPYRIGHT.match(line.after) or _CHOICES.search(text, max(0, line.start - 400), line.end + 400):
                return None
        return Verdict(m.start(), m.end(), 0.8 if caveats or level != "CONFIDENTIAL" else 0.7,
                       _SEVERITY[level], {"level": level, "caveats": caveats, "form": "portion"})


def _caveats(raw: str | None) -> list[str]:
    if not raw:
        return []
    parts = (" ".join(p.split()) for p in re.split(r"//?", raw))
    return [_CAVEAT_NAMES.get(p, p) for p in parts if p]
