"""Display names of the collector's enumerations, marked for the catalogue.

``N_`` only marks a string for extraction (``pybabel extract -k N_``); templates
translate it at render time with ``_()``. Values not listed are shown as they
are (they are data, e.g. a custom detector family).
"""

from __future__ import annotations


def N_(message: str) -> str:
    return message


LEVELS = {
    "critical": N_("Critical"),
    "high": N_("High"),
    "medium": N_("Medium"),
    "low": N_("Low"),
}
STATUSES = {
    "new": N_("New"),
    "acknowledged": N_("Acknowledged"),
    "in_progress": N_("In progress"),
    "resolved": N_("Resolved"),
    "false_positive": N_("False positive"),
    "open": N_("Open"),
    "closed": N_("Closed"),
}
ROLES = {"admin": N_("Administrator"), "analyst": N_("Analyst"), "viewer": N_("Viewer")}
HEALTH = {
    "online": N_("Online"),
    "offline": N_("Offline"),
    "degraded": N_("Degraded"),
    "revoked": N_("Revoked"),
}
MONITOR_STATES = {"ok": N_("ok"), "degraded": N_("degraded"), "off": N_("off")}
DEVICE_STATUSES = {"known": N_("Known"), "lost": N_("Lost"), "revoked": N_("Revoked")}
DEVICE_POLICIES = {"allow": N_("Allowed"), "alert": N_("Alert"), "block": N_("Blocked")}
CHANNELS = {
    "local": N_("Local disk"),
    "archive": N_("Archive"),
    "removable": N_("Removable media"),
    "network": N_("Network"),
    "agent": N_("Agent"),
}
FAMILIES = {
    "pii": N_("Personal data"),
    "secret": N_("Secrets"),
    "marking": N_("Classification markings"),
    "ml": N_("Machine learning"),
    "custom": N_("Custom"),
    "container": N_("Containers"),
}
#: verdicts of server.api.review.verdict_for
VERDICTS = {
    "blocked": N_("Do not publish"),
    "needs_review": N_("Needs review"),
    "publishable": N_("No sensitive content found"),
}
RANGES = {
    "24h": N_("Last 24 hours"),
    "7d": N_("Last 7 days"),
    "30d": N_("Last 30 days"),
    "all": N_("Any time"),
}
TIMELINE = {
    "event": N_("Event on the endpoint"),
    "received": N_("Received by the collector"),
    "alerted": N_("Alert raised"),
    "audit": N_("Change"),
}
#: explanation factor ids the grading uses -> readable names
FACTORS = {
    "detector": N_("Worst finding (severity × confidence)"),
    "volume": N_("Number of findings"),
    "marking": N_("Classification marking"),
    "channel": N_("Channel"),
    "container": N_("Container"),
    "watchlist": N_("Watch list"),
    "repetition": N_("Repeated behaviour"),
    "incident": N_("Part of an incident"),
    "event": N_("Event type"),
    "steps": N_("Steps of the incident"),
    "cap": N_("Capped at 100"),
}


TABLES = {
    "level": LEVELS, "status": STATUSES, "role": ROLES, "health": HEALTH, "monitor": MONITOR_STATES,
    "device_status": DEVICE_STATUSES, "device_policy": DEVICE_POLICIES, "channel": CHANNELS,
    "family": FAMILIES, "verdict": VERDICTS, "factor": FACTORS, "range": RANGES, "timeline": TIMELINE,
}
