"""Explanation lines in the reader's language.

The collector writes each explanation line with a stable message id and its parameters
(``server.grading.MESSAGES``, ``Factor.msg`` / ``Factor.params``) next to the English
``detail`` the API and forwarders show. Here the template is translated through the
catalogue and the parameters formatted for the locale: quantities as locale numbers,
known enumeration values (severity, device policy, destination category, ...) in the
reader's words, anything else (detector ids, host and user names, marking text) as the
data it is. Lines without a message (alerts stored before messages existed, or lines
the collector writes as plain text) show their English ``detail``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from server.dashboard.i18n import Translator
from server.dashboard.labels import N_
from server.grading import MESSAGES
from server.store.interface import Alert, Incident

#: parameter name -> known values in the reader's words (English msgid = the value itself, so the
#: English page reads exactly like the API's ``detail``)
PARAM_WORDS: dict[str, dict[str, str]] = {
    "severity": {"low": N_("low"), "medium": N_("medium"), "high": N_("high"), "critical": N_("critical")},
    "policy": {"allow": N_("allow"), "alert": N_("alert"), "block": N_("block")},
    "category": {
        "unknown": N_("unknown"), "ai": N_("ai"), "ai_services": N_("ai_services"), "cloud": N_("cloud"),
        "cloud_storage": N_("cloud_storage"), "im": N_("im"), "instant_messaging": N_("instant_messaging"),
        "webmail": N_("webmail"), "pastebin": N_("pastebin"), "paste_sites": N_("paste_sites"),
        "forbidden": N_("forbidden"),
    },
    "marking": {"corporate": N_("corporate")},
    "status": {"lost": N_("lost"), "revoked": N_("revoked")},
    "what": {"config": N_("config"), "binary": N_("binary")},
}


def _value(t: Translator, name: str, value: Any) -> str:
    word = PARAM_WORDS.get(name, {}).get(value) if isinstance(value, str) else None
    return t.gettext(word) if word else t.param(value)


def explain(t: Translator, line: Mapping[str, Any]) -> str:
    """One explanation line's text in ``t``'s language (its English ``detail`` if it has no message)."""
    detail = str(line.get("detail", ""))
    msg, params = getattr(line, "msg", None), getattr(line, "params", None)
    template = MESSAGES.get(msg) if isinstance(msg, str) else None
    if template is None or not isinstance(params, dict):
        return detail
    try:
        return t.gettext(template) % {k: _value(t, k, v) for k, v in params.items()}
    except (KeyError, TypeError, ValueError):  # parameters stored by another version: keep the English
        return detail


def localised(value: Any, t: Translator) -> Any:
    """An alert or incident whose explanation ``detail`` texts are in ``t``'s language (a copy;
    anything else returned as it is). Applied by ``render`` to the records a page shows."""
    if isinstance(value, (Alert, Incident)) and any(getattr(f, "msg", None) for f in value.explanation):
        return replace(value, explanation=[{**f, "detail": explain(t, f)} for f in value.explanation])
    return value
