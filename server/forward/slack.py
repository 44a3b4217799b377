"""Slack incoming webhook: Block Kit message.

Attacker-controlled names go into ``plain_text`` objects (no mrkdwn, so no
fake bold, links or mentions) and are escaped for Slack's control characters
(&, <, >) anyway, because Slack decodes those entities in every text field.
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

LEVEL_EMOJI = {"low": ":large_blue_circle:", "medium": ":large_yellow_circle:",
               "high": ":large_orange_circle:", "critical": ":red_circle:"}


@dataclass(frozen=True, slots=True)
class Settings:
    url: str
    channel: str | None
    username: str | None
    timeout: float
    verify: bool
    ca_file: str | None


def parse(s: Section) -> Settings:
    s.only(COMMON_KEYS | {"url", "url_file", "url_env", "channel", "username", "timeout", "verify", "ca_file"})
    url = s.secret("url")  # a Slack webhook URL is itself the credential
    if not url.startswith(("http://", "https://")):
        raise s.error("url", "must be an http:// or https:// URL")
    return Settings(url=url, channel=s.str("channel", None), username=s.str("username", None),
                    timeout=s.duration("timeout", 10.0, min=0.1), verify=s.bool("verify", True),
                    ca_file=s.str("ca_file", None))


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": escaping.truncate(escaping.slack(text), limit), "emoji": False}


def build(settings: Settings, alert: AlertView, message: Message, key: str) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(message.title, 150)},
        {"type": "section", "fields": [_plain(f"{k}: {v}", 2000) for k, v in alert.facts()[:10]]},
        {"type": "section", "text": _plain(message.body, 3000)},
    ]
    context = [{"type": "mrkdwn", "text": f"{LEVEL_EMOJI.get(alert.level, '')} LeakWarden alert {escaping.slack(alert.id)}"}]
    if alert.url:
        # Our own URL, not attacker-controlled; still escaped so it cannot close the <url|label> form.
        context.append({"type": "mrkdwn", "text": f"<{escaping.slack(alert.url)}|Open in LeakWarden>"})
    blocks.append({"type": "context", "elements": context})
    payload: dict[str, Any] = {"text": escaping.truncate(escaping.slack(message.title), 3000), "blocks": blocks}
    if settings.channel:
        payload["channel"] = settings.channel
    if settings.username:
        payload["username"] = settings.username
    return payload


# Incoming webhooks authenticate by their secret URL: a plain JSON POST.
Sender = JsonPostSender
