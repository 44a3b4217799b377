"""Microsoft Teams incoming webhook (or Workflows webhook): an Adaptive Card.

Adaptive Card text is Markdown, so every attacker-controlled string is
Markdown-escaped (no fake links, no images, no inline HTML).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.forward import escaping
from server.forward.alert import AlertView
from server.forward.destination import COMMON_KEYS
from server.forward.options import Section
from server.forward.templates import Message
from server.forward.transport import JsonPostSender

LEVEL_COLOR = {"low": "Accent", "medium": "Warning", "high": "Attention", "critical": "Attention"}


@dataclass(frozen=True, slots=True)
class Settings:
    url: str
    timeout: float
    verify: bool
    ca_file: str | None


def parse(s: Section) -> Settings:
    s.only(COMMON_KEYS | {"url", "url_file", "url_env", "timeout", "verify", "ca_file"})
    url = s.secret("url")
    if not url.startswith(("http://", "https://")):
        raise s.error("url", "must be an http:// or https:// URL")
    return Settings(url=url, timeout=s.duration("timeout", 10.0, min=0.1), verify=s.bool("verify", True),
                    ca_file=s.str("ca_file", None))


def build(settings: Settings, alert: AlertView, message: Message, key: str) -> dict[str, Any]:
    md = escaping.markdown
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": md(message.title), "weight": "Bolder", "size": "Medium",
             "color": LEVEL_COLOR.get(alert.level, "Default"), "wrap": True},
            {"type": "FactSet", "facts": [{"title": k, "value": md(v)} for k, v in alert.facts()]},
            {"type": "TextBlock", "text": md(message.body), "wrap": True},
        ],
    }
    if alert.url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in LeakWarden", "url": alert.url}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


# Incoming webhooks authenticate by their secret URL: a plain JSON POST.
Sender = JsonPostSender
