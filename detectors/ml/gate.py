"""The cheap check before the classifier: is this text a document worth classifying?

The classifier was trained on prose documents (memos, records, contracts, news,
manuals). Machine text (logs, source code, encoded blobs, binary noise read as
text, a page of numbers) is not what it can judge, and such files are common on
an endpoint: classifying them costs time and gives verdicts nobody can act on.
:func:`skip_reason` looks at a sample of the head in a few vectorised passes
(well under a tenth of the cost of classifying it) and says why a text should
be skipped, or ``None``.

Every rule errs towards classifying. Rosters and budget tables full of numbers
stay in (the letter rule only drops texts that are almost all digits and
symbols), chat exports with timestamps stay in (a log line also needs a level
or a ``process[pid]:`` tag), and contract clauses ending in ``;`` stay in (code
also needs braces, brackets, '=' or '_'). What pattern detectors found does not
matter here: see docs/ml.md ("Cost") for why.
"""

from __future__ import annotations

import re

import numpy as np

#: characters of the head the check looks at
SAMPLE = 8192
#: fewer letters than this share of non-space characters: digits and symbols, not prose
MIN_LETTER_SHARE = 0.25
#: more control characters / U+FFFD than this share: binary read as text
MAX_CONTROL_SHARE = 0.05
#: share of the sample in long base64/hex-like runs
MAX_ENCODED_SHARE = 0.5
#: share of non-empty lines that look like log records, or code
MAX_LOG_SHARE = 0.6
#: code: this share of non-empty lines look like code (indented with brackets or '=', comment
#: lines, lines ending in ; { }, keywords) *and* { } [ ] = < > _ are this share of non-space
#: characters. Measured: bundled corpus 0 code lines and at most 0.005 symbols; sklearn
#: sources median 0.44 / 0.055, C headers 0.70 / 0.049
MAX_CODE_SHARE = 0.3
MIN_CODE_SYMBOLS = 0.02
MIN_LINES = 8

_ENCODED = re.compile(r"[A-Za-z0-9+/=_\-]{64,}")
_LOG_LINE = re.compile(
    r"^.{0,32}?(?:(?:\d{4}-\d\d-\d\d[T ]|\b[A-Z][a-z]{2} [ \d]\d )\d\d:\d\d:\d\d"
    r".*?(?:\b(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRIT|CRITICAL|FATAL|SEVERE)\b|\w\[\d+\]:)"
    r"|\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] \"[A-Z]+ )",  # web access log
    re.M,
)
_CODE_LINE = re.compile(
    r"^(?:[ \t]+\S[^\n]*[=(){}\[\];:]|[ \t]*(?:#|//|/\*|\*|--)[^\n]*|[^\n]*[;{}][ \t]*$"
    r"|[ \t]*(?:import|from|def|class|return|if|for|while|#include|#define)\b[^\n]*)$",
    re.M,
)
#: not ( ) ; : prose has them (contract clauses "(a) ...;"); identifiers and assignments it lacks
_CODE_SYMBOLS = str.maketrans("", "", "{}[]=<>_")


def skip_reason(text: str, min_chars: int = 100) -> str | None:
    """Why ``text`` is not worth classifying (a short phrase), or None to classify it."""
    sample = text[:SAMPLE]
    cp = np.frombuffer(sample.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    space = (cp == 32) | ((cp >= 9) & (cp <= 13)) | (cp == 0xA0) | (cp == 0x3000)
    solid = int(len(cp) - space.sum())
    if solid * 2 < min_chars:  # half: a short Chinese document is all text, padded tables are not
        return "too little text without whitespace"
    control = ((cp < 32) & ~space) | (cp == 0x7F) | (cp == 0xFFFD) | ((cp >= 0xE000) & (cp <= 0xF8FF))
    if control.sum() > MAX_CONTROL_SHARE * solid:
        return "binary data"
    # letters: ASCII letters, and everything past Latin-1 punctuation (accented Latin, Cyrillic, CJK, kana, ...)
    # except the CJK/full-width punctuation blocks
    letters = (((cp | 32) >= 97) & ((cp | 32) <= 122)) | ((cp >= 0xC0) & ~((cp >= 0x3000) & (cp <= 0x303F))
                                                           & ~((cp >= 0xFF00) & (cp <= 0xFF20)) & ~control)
    if letters.sum() < MIN_LETTER_SHARE * solid:
        return "mostly digits and symbols"
    if sum(len(m) for m in _ENCODED.findall(sample)) > MAX_ENCODED_SHARE * solid:
        return "encoded data (base64/hex)"
    lines = sum(1 for line in sample.splitlines() if line.strip())
    if lines >= MIN_LINES:
        if len(_LOG_LINE.findall(sample)) > MAX_LOG_SHARE * lines:
            return "log records"
        if len(_CODE_LINE.findall(sample)) > MAX_CODE_SHARE * lines \
                and solid - len("".join(sample.translate(_CODE_SYMBOLS).split())) > MIN_CODE_SYMBOLS * solid:
            return "source code"
    return None
