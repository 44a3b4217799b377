"""Title and body templates of routes, rendered in a Jinja2 sandbox.

Templates come from the operator's config but render attacker-controlled
strings (file, host and user names), so they run in an immutable sandbox: no
attribute starting with ``_``, no mutation, no access to Python internals.
Title and text body render as plain text; every destination escapes that
text for its own format. An ``html`` template renders with autoescape on.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from leakwarden.errors import ConfigError
from server.forward import escaping
from server.forward.alert import AlertView

log = logging.getLogger(__name__)

DEFAULT_TITLE = (
    "[{{ level|upper }}] {{ detectors|join(', ') }} on {{ host }}"
    "{% if user %} ({{ user }}){% endif %}"
    "{% if count > 1 %} ×{{ count }}{% endif %}"
    "{% if escalated %} — ESCALATED, not acknowledged in time{% endif %}"
)
DEFAULT_BODY = """\
{% if escalated %}Escalated: nobody acknowledged this alert before its deadline ({{ sla_deadline|datetime }}).
{% endif %}Risk {{ risk_score }}/100, level {{ level }}, status {{ status }}{% if count > 1 %}, seen {{ count }} times{% endif %}.
Host: {{ host }}{% if user %}
User: {{ user }}{% endif %}{% if path %}
File: {{ path }}{% endif %}{% if device %}
Device: {{ device }}{% endif %}{% if destination %}
Destination: {{ destination }}{% endif %}
Time: {{ time|datetime }}
Findings:{% for f in findings %}
- {{ f.detector }} ({{ f.severity }}, {{ (f.confidence * 100)|round|int }}%): {{ f.masked }}{% else %} {{ detectors|join(', ') }}{% endfor %}{% if explanation %}
Why:{% for e in explanation %}
- {{ e.factor }}{% if e.detail %}: {{ e.detail }}{% endif %}{% if e.points is defined %} (+{{ e.points }}){% endif %}{% endfor %}{% endif %}{% if url %}
{{ url }}{% endif %}"""


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    html: str | None = None  # operator's own HTML body, already escaped by autoescape


def _datetime(value: Any) -> str:
    if value is None or isinstance(value, Undefined):
        return ""
    return dt.datetime.fromtimestamp(float(value), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _env(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=autoescape, trim_blocks=False, keep_trailing_newline=False)
    env.filters["datetime"] = _datetime
    return env


_TEXT = _env(False)
_HTML = _env(True)


def context(alert: AlertView) -> dict[str, Any]:
    """The names a template sees: plain values only, never the store objects."""
    return {
        "id": alert.id,
        "title": alert.title,
        "level": alert.level,
        "risk_score": alert.risk_score,
        "status": alert.status,
        "host": alert.host,
        "user": alert.user,
        "path": alert.path,
        "file_name": alert.file_name,
        "device": alert.device_label,
        "destination": alert.destination_label,
        "channel": alert.channel,
        "kind": alert.kind,
        "detectors": list(alert.detectors),
        "families": list(alert.families),
        "findings": [
            {"detector": f.detector, "severity": f.severity, "confidence": f.confidence, "masked": f.masked}
            for f in alert.findings
        ],
        "explanation": [dict(e) for e in alert.explanation],
        "time": alert.time,
        "count": alert.count,
        "escalated": alert.escalated,
        "escalation_level": alert.escalation_level,
        "sla_deadline": alert.sla_deadline,
        "assignee": alert.assignee,
        "incident_id": alert.incident_id,
        "url": alert.url,
    }


class MessageTemplate:
    """The compiled title/body(/html) of one route."""

    def __init__(self, source: str, key: str, title: str | None, body: str | None, html: str | None) -> None:
        self._title = _compile(_TEXT, source, f"{key}.title", title or DEFAULT_TITLE)
        self._body = _compile(_TEXT, source, f"{key}.body", body or DEFAULT_BODY)
        self._html = _compile(_HTML, source, f"{key}.html", html) if html else None

    def render(self, alert: AlertView) -> Message:
        ctx = context(alert)
        try:
            title = self._title.render(ctx)
            body = self._body.render(ctx)
            html = self._html.render(ctx) if self._html else None
        except Exception as e:  # an operator template (SecurityError, TypeError...) must never lose an alert
            log.warning("route template failed (%s); using the default template", e)
            title, body, html = DEFAULT.render_default(ctx)
        # A title goes into mail subjects and syslog headers: no line breaks, no controls.
        return Message(title=escaping.one_line(title), body=body.strip(), html=html)

    def render_default(self, ctx: dict[str, Any]) -> tuple[str, str, None]:
        return self._title.render(ctx), self._body.render(ctx), None


def _compile(env: ImmutableSandboxedEnvironment, source: str, key: str, text: str) -> Any:
    try:
        return env.from_string(text)
    except TemplateSyntaxError as e:
        raise ConfigError(source, key, f"template syntax error on line {e.lineno}: {e.message}") from e


DEFAULT = MessageTemplate("<built-in>", "default", None, None, None)
