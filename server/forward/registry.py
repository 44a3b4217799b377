"""The explicit registry of destination types: a type exists when it is listed here."""

from __future__ import annotations

from server.forward import email, jsonl, slack, syslog, teams, thehive, webhook
from server.forward.destination import DestinationType

DESTINATION_TYPES: dict[str, DestinationType] = {
    t.name: t
    for t in (
        DestinationType("webhook", webhook.parse, webhook.build, webhook.Sender,
                        "JSON (OCSF) POST signed with HMAC-SHA256"),
        DestinationType("slack", slack.parse, slack.build, slack.Sender, "Slack incoming webhook (Block Kit)"),
        DestinationType("teams", teams.parse, teams.build, teams.Sender,
                        "Microsoft Teams incoming webhook (Adaptive Card)"),
        DestinationType("email", email.parse, email.build, email.Sender, "SMTP mail, text + HTML"),
        DestinationType("syslog", syslog.parse, syslog.build, syslog.Sender,
                        "RFC 5424 syslog over UDP/TCP/TLS, OCSF JSON or CEF"),
        DestinationType("thehive", thehive.parse, thehive.build, thehive.Sender, "TheHive 5 alert with observables"),
        DestinationType("jsonl", jsonl.parse, jsonl.build, jsonl.Sender, "JSON-lines file (OCSF) for log shippers"),
    )
}
