"""The one export schema for SIEMs: OCSF 1.3 *Data Security Finding* (class 2006).

Why OCSF and not ECS: OCSF has a class made for exactly what LeakWarden
reports (a DLP finding: what data category, at rest or in transit, found by
which detection system, with a finding workflow status), so every alert field
has a standard home and SIEMs that speak OCSF (AWS Security Lake, Splunk,
QRadar, Sentinel, OpenSearch Security Analytics) need no custom parser. ECS
has no finding class for DLP; we would have invented most of its fields.
``docs/forwarding.md`` maps every field.

The same document is the body of webhooks, the lines of the JSON-lines file
and the message of syslog in JSON format. It is built from :class:`AlertView`
only, which holds masked values and keyed hashes, never a raw value.
"""

from __future__ import annotations

from typing import Any

from server.forward.alert import AlertView

OCSF_VERSION = "1.3.0"
CLASS_UID = 2006  # Data Security Finding
CATEGORY_UID = 2  # Findings
PRODUCT = {"name": "LeakWarden", "vendor_name": "LeakWarden", "version": "0.1.0"}

SEVERITY_ID = {"low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAME = {2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
RISK_LEVEL_ID = {"low": 1, "medium": 2, "high": 3, "critical": 4}
# Our workflow statuses on OCSF's finding status enum (1 New, 2 In Progress, 3 Suppressed, 4 Resolved).
STATUS_ID = {"new": (1, "New"), "acknowledged": (2, "In Progress"), "in_progress": (2, "In Progress"),
             "resolved": (4, "Resolved"), "false_positive": (3, "Suppressed")}
# data_security.data_lifecycle_state_id: 1 Data at-Rest, 2 Data in-Transit.
LIFECYCLE = {"local": (1, "Data at-Rest"), "archive": (1, "Data at-Rest"),
             "removable": (2, "Data in-Transit"), "network": (2, "Data in-Transit")}
# data_security.category_id: 1 Personal, 2 Governmental, 3 Financial, 4 Business, 6 Security.
_CATEGORY_BY_DETECTOR = {
    "pii.payment_card": (3, "Financial"), "pii.iban": (3, "Financial"),
    "marking.cn_state_secret": (2, "Governmental"), "marking.us_classification": (2, "Governmental"),
    "marking.cn_work_secret": (2, "Governmental"), "marking.corporate": (4, "Business"),
}
_CATEGORY_BY_FAMILY = {"pii": (1, "Personal"), "secret": (6, "Security"), "marking": (4, "Business"),
                       "ml": (4, "Business"), "custom": (4, "Business"), "container": (99, "Other")}
_ACTIVITY = {1: "Create", 2: "Update", 3: "Close"}


def activity_id(alert: AlertView, *, update: bool) -> int:
    if alert.status in ("resolved", "false_positive"):
        return 3
    return 2 if update or alert.escalated or alert.count > 1 else 1


def data_category(alert: AlertView) -> tuple[int, str]:
    """The most specific category of the alert's first detector with one."""
    for d in alert.detectors:
        if d in _CATEGORY_BY_DETECTOR:
            return _CATEGORY_BY_DETECTOR[d]
    for d in alert.detectors:
        fam = d.split(".", 1)[0]
        if fam in _CATEGORY_BY_FAMILY:
            return _CATEGORY_BY_FAMILY[fam]
    return (0, "Unknown")


def to_ocsf(alert: AlertView, *, title: str, description: str, uid: str, update: bool = False) -> dict[str, Any]:
    """The OCSF document of one delivery. ``uid`` is the delivery's idempotency key."""
    act = activity_id(alert, update=update)
    sev = SEVERITY_ID.get(alert.level, 0)
    status_id, status = STATUS_ID.get(alert.status, (99, "Other"))
    ms = int(alert.time * 1000)
    cat_id, cat = data_category(alert)
    doc: dict[str, Any] = {
        "class_uid": CLASS_UID,
        "class_name": "Data Security Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": act,
        "activity_name": _ACTIVITY[act],
        "type_uid": CLASS_UID * 100 + act,
        "time": ms,
        "severity_id": sev,
        "severity": SEVERITY_NAME.get(sev, "Unknown"),
        "status_id": status_id,
        "status": status,
        "status_detail": alert.status,
        "risk_score": alert.risk_score,
        "risk_level_id": RISK_LEVEL_ID.get(alert.level, 0),
        "risk_level": alert.level.capitalize(),
        "is_alert": True,
        "message": title,
        "metadata": {
            "version": OCSF_VERSION,
            "product": PRODUCT,
            "uid": uid,
            "log_name": "leakwarden.alerts",
            "logged_time": int((alert.updated_at or alert.time) * 1000),
        },
        "finding_info": {
            "uid": alert.id,
            "title": title,
            "desc": description,
            "types": list(alert.detectors),
            "created_time": ms,
            "first_seen_time": ms,
            "last_seen_time": int((alert.updated_at or alert.time) * 1000),
            "analytic": {"name": ", ".join(alert.detectors), "type_id": 1, "type": "Rule"},
        },
        "data_security": {
            "detection_system_id": 1,
            "detection_system": "Endpoint",
            "detection_pattern": ", ".join(alert.detectors),
            "category_id": cat_id,
            "category": cat,
        },
        "device": {"hostname": alert.host, "name": alert.host, "type_id": 0, "type": "Unknown"},
        "unmapped": {"leakwarden": _extension(alert)},
    }
    if alert.findings:
        doc["confidence_score"] = round(max(f.confidence for f in alert.findings) * 100)
        doc["data_security"]["pattern_match"] = "; ".join(f.masked for f in alert.findings if f.masked)
    if alert.channel in LIFECYCLE:
        lid, lname = LIFECYCLE[alert.channel]
        doc["data_security"]["data_lifecycle_state_id"] = lid
        doc["data_security"]["data_lifecycle_state"] = lname
    if alert.url:
        doc["finding_info"]["src_url"] = alert.url
    if alert.incident_id:
        doc["metadata"]["correlation_uid"] = alert.incident_id
    if alert.agent_id:
        doc["device"]["uid"] = alert.agent_id
    if alert.updated_at:
        doc["finding_info"]["modified_time"] = int(alert.updated_at * 1000)
    if alert.user:
        doc["actor"] = {"user": {"name": alert.user}}
    if alert.path:
        f: dict[str, Any] = {"path": alert.path, "name": alert.file_name or alert.path, "type_id": 1, "type": "Regular File"}
        if alert.file_size is not None:
            f["size"] = alert.file_size
        if alert.media_type:
            f["mime_type"] = alert.media_type
        if alert.content_hash:
            # Keyed (HMAC-SHA256) so it correlates inside one organisation and reveals nothing outside.
            f["hashes"] = [{"algorithm_id": 99, "algorithm": "HMAC-SHA256", "value": alert.content_hash}]
        doc["file"] = f
    if alert.destination_label:
        d = alert.destination
        ep: dict[str, Any] = {}
        if d.get("host"):
            ep["hostname"] = d["host"]
        if d.get("ip"):
            ep["ip"] = d["ip"]
        if d.get("port") is not None:
            ep["port"] = d["port"]
        if d.get("category"):
            ep["type"] = d["category"]
        doc["dst_endpoint"] = ep
    return doc


def _extension(alert: AlertView) -> dict[str, Any]:
    """What OCSF has no field for, under ``unmapped.leakwarden``."""
    ext: dict[str, Any] = {
        "level": alert.level,
        "count": alert.count,
        "escalated": alert.escalated,
        "escalation_level": alert.escalation_level,
        "findings": [
            {"detector": f.detector, "severity": f.severity, "confidence": round(f.confidence, 3),
             "masked": f.masked, "hash": f.hash, **({"path": f.path} if f.path else {}),
             **({"line": f.line} if f.line is not None else {})}
            for f in alert.findings
        ],
        "explanation": [dict(e) for e in alert.explanation],
    }
    for name in ("kind", "channel", "assignee", "sla_deadline"):
        value = getattr(alert, name)
        if value is not None:
            ext[name] = value
    if alert.device:
        ext["removable_device"] = dict(alert.device)
    return ext
