"""Escaping of attacker-controlled text for each output format.

File, host, user and device names come from endpoints and can hold anything:
HTML, Slack control sequences, Markdown, CEF delimiters, syslog brackets. Each
destination passes every such string through the function for its format.
"""

from __future__ import annotations

import html as _html
import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def html(text: str) -> str:
    """HTML text and attribute content."""
    return _html.escape(text, quote=True)


def slack(text: str) -> str:
    """Slack text: only &, < and > are control characters (<!channel>, <url|label>)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown(text: str) -> str:
    """Markdown (Teams Adaptive Cards, TheHive descriptions): backslash every special character.

    ``&``, ``<`` and ``>`` become entity references, which Markdown renders as
    the literal character: no renderer that passes inline HTML through can be
    made to render a tag from a file name.
    """
    text = _MD_SPECIAL.sub(r"\\\1", _CONTROL.sub("", text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cef_header(text: str) -> str:
    """CEF header field: backslash and pipe escaped; a header has no line breaks."""
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(_CONTROL.sub(" ", text).replace("\r", " ").replace("\n", " ").split(" "))


def cef_value(text: str) -> str:
    """CEF extension value: backslash and equals escaped, line breaks as \\n and \\r."""
    text = text.replace("\\", "\\\\").replace("=", "\\=")
    return _CONTROL.sub(" ", text.replace("\r", "\\r").replace("\n", "\\n"))


def sd_value(text: str) -> str:
    """RFC 5424 SD-PARAM value: '"', '\\' and ']' must be escaped with a backslash."""
    return re.sub(r'(["\\\]])', r"\\\1", text)


def printable_ascii(text: str, limit: int, default: str = "-") -> str:
    """RFC 5424 header fields (HOSTNAME, APP-NAME, MSGID): PRINTUSASCII, no spaces."""
    out = "".join(ch for ch in text if 33 <= ord(ch) <= 126)[:limit]
    return out or default


def one_line(text: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
