"""The pure payload builders: exact payloads for a known alert, and escaping per format."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest

from server.forward import email, escaping, jsonl, slack, syslog, teams, thehive, webhook
from server.forward.alert import AlertView
from server.forward.options import Section
from server.forward.schema import to_ocsf
from server.forward.templates import DEFAULT, MessageTemplate
from tests.forward.conftest import make_alert

NASTY = '/media/alice/KINGSTON/<img src=x onerror=alert(1)>|a=b\\c]"x.xlsx'

BODY = (
    "Risk 82/100, level high, status new.\n"
    "Host: fin-pc-01\n"
    "User: alice\n"
    "File: /media/alice/KINGSTON/salaries.xlsx\n"
    "Device: Kingston DataTraveler serial 0019E06B\n"
    "Time: 2027-01-15 07:59:58 UTC\n"
    "Findings:\n"
    "- pii.cn_resident_id (high, 97%): 1101**********002X\n"
    "Why:\n"
    "- severity: pii.cn_resident_id high (+40)\n"
    "- channel: removable media (+30)\n"
    "https://lw.example/alerts/7"
)
TITLE = "[HIGH] pii.cn_resident_id on fin-pc-01 (alice)"


def view(**over: Any) -> AlertView:
    return AlertView.from_alert(make_alert(**over)).with_(url="https://lw.example/alerts/7")


def settings(module: Any, **raw: Any) -> Any:
    return module.parse(Section(raw, "test.yaml", "forward.destinations.d"))


def test_default_message() -> None:
    m = DEFAULT.render(view())
    assert m.title == TITLE
    assert m.body == BODY


def test_ocsf_document_maps_every_field() -> None:
    v = view(destination={"host": "pan.baidu.com", "ip": "203.0.113.9", "port": 443, "category": "cloud-storage"},
             incident_id=3, assignee="bob")
    doc = to_ocsf(v, title=TITLE, description="body", uid="key-1")
    assert doc == {
        "class_uid": 2006, "class_name": "Data Security Finding", "category_uid": 2, "category_name": "Findings",
        "activity_id": 1, "activity_name": "Create", "type_uid": 200601,
        "time": 1_799_999_998_000, "severity_id": 4, "severity": "High",
        "status_id": 1, "status": "New", "status_detail": "new",
        "risk_score": 82, "risk_level_id": 3, "risk_level": "High", "is_alert": True, "message": TITLE,
        "confidence_score": 97,
        "metadata": {"version": "1.3.0", "uid": "key-1", "log_name": "leakwarden.alerts",
                     "logged_time": 1_800_000_000_000, "correlation_uid": "3",
                     "product": {"name": "LeakWarden", "vendor_name": "LeakWarden", "version": "0.1.0"}},
        "finding_info": {"uid": "7", "title": TITLE, "desc": "body", "types": ["pii.cn_resident_id"],
                         "created_time": 1_799_999_998_000, "first_seen_time": 1_799_999_998_000,
                         "last_seen_time": 1_800_000_000_000, "modified_time": 1_800_000_000_000,
                         "src_url": "https://lw.example/alerts/7",
                         "analytic": {"name": "pii.cn_resident_id", "type_id": 1, "type": "Rule"}},
        "data_security": {"detection_system_id": 1, "detection_system": "Endpoint",
                          "detection_pattern": "pii.cn_resident_id", "category_id": 1, "category": "Personal",
                          "pattern_match": "1101**********002X",
                          "data_lifecycle_state_id": 2, "data_lifecycle_state": "Data in-Transit"},
        "device": {"hostname": "fin-pc-01", "name": "fin-pc-01", "type_id": 0, "type": "Unknown", "uid": "agent-1"},
        "actor": {"user": {"name": "alice"}},
        "file": {"path": "/media/alice/KINGSTON/salaries.xlsx", "name": "salaries.xlsx", "type_id": 1,
                 "type": "Regular File", "hashes": [{"algorithm_id": 99, "algorithm": "HMAC-SHA256", "value": "5f" * 32}]},
        "dst_endpoint": {"hostname": "pan.baidu.com", "ip": "203.0.113.9", "port": 443, "type": "cloud-storage"},
        "unmapped": {"leakwarden": {
            "level": "high", "count": 1, "escalated": False, "escalation_level": 0,
            "findings": [{"detector": "pii.cn_resident_id", "severity": "high", "confidence": 0.97,
                          "masked": "1101**********002X", "hash": "9a" * 32,
                          "path": "/media/alice/KINGSTON/salaries.xlsx", "line": 4}],
            "explanation": [{"factor": "severity", "detail": "pii.cn_resident_id high", "points": 40},
                            {"factor": "channel", "detail": "removable media", "points": 30}],
            "kind": "file.write", "channel": "removable", "assignee": "bob", "sla_deadline": 1_800_003_600.0,
            "removable_device": {"vendor": "Kingston", "model": "DataTraveler", "serial": "0019E06B"}}},
    }


@pytest.mark.parametrize(("status", "escalated", "count", "activity", "status_id"), [
    ("new", False, 1, 1, 1), ("acknowledged", False, 1, 1, 2), ("new", True, 1, 2, 1),
    ("new", False, 4, 2, 1), ("resolved", False, 1, 3, 4), ("false_positive", False, 1, 3, 3),
])
def test_ocsf_activity_and_status(status: str, escalated: bool, count: int, activity: int, status_id: int) -> None:
    doc = to_ocsf(view(status=status).with_(escalated=escalated, count=count), title="t", description="d", uid="k")
    assert (doc["activity_id"], doc["type_uid"], doc["status_id"]) == (activity, 200600 + activity, status_id)


def test_webhook_and_jsonl_carry_the_ocsf_document() -> None:
    v, m = view(), DEFAULT.render(view())
    expected = to_ocsf(v, title=TITLE, description=BODY, uid="k1")
    assert webhook.build(settings(webhook, type="webhook", url="http://x/"), v, m, "k1") == expected
    assert jsonl.build(settings(jsonl, type="jsonl", path="/tmp/lw.jsonl"), v, m, "k1") == expected


def test_slack_payload() -> None:
    v = view()
    assert slack.build(settings(slack, type="slack", url="http://x/", channel="#soc"), v, DEFAULT.render(v), "k1") == {
        "text": TITLE,
        "channel": "#soc",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": TITLE, "emoji": False}},
            {"type": "section", "fields": [{"type": "plain_text", "text": t, "emoji": False} for t in (
                "Level: high", "Risk: 82/100", "Host: fin-pc-01", "User: alice",
                "File: /media/alice/KINGSTON/salaries.xlsx", "Device: Kingston DataTraveler serial 0019E06B",
                "Status: new")]},
            {"type": "section", "text": {"type": "plain_text", "text": BODY, "emoji": False}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": ":large_orange_circle: LeakWarden alert 7"},
                {"type": "mrkdwn", "text": "<https://lw.example/alerts/7|Open in LeakWarden>"}]},
        ],
    }


def test_teams_payload() -> None:
    v = view(path="/data/q3.xlsx", device=None)
    card = teams.build(settings(teams, type="teams", url="http://x/"), v, DEFAULT.render(v), "k1")
    content = card["attachments"][0]["content"]
    assert card["type"] == "message"
    assert card["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert content["body"][0]["text"] == r"\[HIGH\] pii\.cn\_resident\_id on fin\-pc\-01 \(alice\)"
    assert content["body"][1] == {"type": "FactSet", "facts": [
        {"title": "Level", "value": "high"}, {"title": "Risk", "value": "82/100"},
        {"title": "Host", "value": r"fin\-pc\-01"}, {"title": "User", "value": "alice"},
        {"title": "File", "value": r"/data/q3\.xlsx"}, {"title": "Status", "value": "new"}]}
    assert content["actions"] == [{"type": "Action.OpenUrl", "title": "Open in LeakWarden",
                                   "url": "https://lw.example/alerts/7"}]


def test_thehive_payload_has_stable_source_ref_and_observables() -> None:
    v = view(destination={"host": "files.example.net", "ip": "198.51.100.7"})
    payload = thehive.build(settings(thehive, type="thehive", url="http://x/", api_key="k", tags=["dlp"]),
                            v, DEFAULT.render(v), "idem-1")
    assert payload["sourceRef"] == "lw-7"  # the LeakWarden alert, not the delivery: later ones update it
    assert {k: payload[k] for k in ("type", "source", "title", "severity", "date", "tags", "tlp", "pap",
                                    "externalLink")} == {
        "type": "leakwarden", "source": "LeakWarden", "title": TITLE, "severity": 3, "date": 1_799_999_998_000,
        "tags": ["dlp", "level:high", "detector:pii.cn_resident_id"], "tlp": 2, "pap": 2,
        "externalLink": "https://lw.example/alerts/7"}
    assert payload["observables"] == [
        {"dataType": "hostname", "data": "fin-pc-01", "message": "endpoint"},
        {"dataType": "other", "data": "alice", "tags": ["user"], "message": "user"},
        {"dataType": "filename", "data": "salaries.xlsx", "message": "/media/alice/KINGSTON/salaries.xlsx"},
        {"dataType": "hash", "data": "5f" * 32, "tags": ["hmac-sha256"],
         "message": "keyed content hash (HMAC-SHA256 with the organisation key)"},
        {"dataType": "other", "data": "Kingston DataTraveler serial 0019E06B", "tags": ["removable-device"],
         "message": "removable device"},
        {"dataType": "ip", "data": "198.51.100.7", "message": "destination"},
        {"dataType": "fqdn", "data": "files.example.net", "message": "destination"},
    ]


def test_syslog_rfc5424_header_and_cef() -> None:
    v = view()
    s = settings(syslog, type="syslog", host="127.0.0.1", format="cef", hostname="collector1", facility="local4")
    line = syslog.build(s, v, DEFAULT.render(v), "k1")["message"]
    head = ('<163>1 2027-01-15T08:00:00.000Z collector1 leakwarden - alert '
            '[leakwarden@32473 alert="7" level="high" risk="82" count="1" key="k1"] ')
    assert line.startswith(head)
    assert line[len(head):].startswith(
        "CEF:0|LeakWarden|LeakWarden|0.1.0|pii.cn_resident_id|[HIGH] pii.cn_resident_id on fin-pc-01 (alice)|8|"
        "rt=1799999998000 externalId=7 dvchost=fin-pc-01 act=alert cat=pii cnt=1 cs1Label=detectors "
        "cs1=pii.cn_resident_id cs2Label=level cs2=high cn1Label=riskScore cn1=82 cs5Label=idempotencyKey cs5=k1 "
        "duser=alice fname=salaries.xlsx filePath=/media/alice/KINGSTON/salaries.xlsx fileHash=" + "5f" * 32)
    assert "cs3Label=maskedValues cs3=1101**********002X" in line
    assert "msg=Risk 82/100, level high, status new.\\nHost: fin-pc-01\\n" in line  # line breaks escaped


def test_syslog_json_fits_a_udp_datagram() -> None:
    v = view(explanation=[{"factor": f"f{i}", "detail": "x" * 200, "points": 1} for i in range(20)])
    s = settings(syslog, type="syslog", host="127.0.0.1", transport="udp", max_message=2048)
    msg = syslog.build(s, v, DEFAULT.render(v), "k1")["message"]
    assert len(msg.encode()) <= 2048
    doc = json.loads(msg.split("\ufeff", 1)[1])
    assert doc["unmapped"]["leakwarden"]["truncated"] is True
    assert doc["finding_info"]["uid"] == "7" and doc["severity_id"] == 4  # the essentials survive
    big = syslog.build(settings(syslog, type="syslog", host="h", transport="tcp"), v, DEFAULT.render(v), "k1")
    assert "truncated" not in json.loads(big["message"].split("\ufeff", 1)[1])["unmapped"]["leakwarden"]


def test_email_payload() -> None:
    v = view()
    payload = email.build(settings(email, type="email", host="smtp.example", **{"from": "lw@example.org"},
                                   to=["soc@example.org"]), v, DEFAULT.render(v), "k1")
    assert payload["subject"] == f"[LeakWarden] {TITLE}"
    assert payload["text"] == BODY
    assert payload["message_id"] == "<k1@leakwarden>"
    assert (payload["from"], payload["to"], payload["cc"]) == ("lw@example.org", ["soc@example.org"], [])
    mime = email.to_mime(payload)
    assert mime.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mime.iter_parts()] == ["text/plain", "text/html"]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [a for a, _ in attrs]


def test_html_and_script_in_a_file_name_stay_text_everywhere() -> None:
    v = view(path=NASTY, user='<b>mallory</b>&co', host="pc|1=x]")
    m = DEFAULT.render(v)
    html_part = email.build(settings(email, type="email", host="h", **{"from": "a@b.c"}, to=["d@e.f"]), v, m, "k")["html"]
    parser = _Tags()
    parser.feed(html_part)
    assert "img" not in parser.tags and "b" not in parser.tags and "onerror" not in parser.attrs
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_part and "&lt;b&gt;mallory&lt;/b&gt;&amp;co" in html_part

    sl = json.dumps(slack.build(settings(slack, type="slack", url="http://x/"), v, m, "k"))
    assert "<img" not in sl and "&lt;img src=x onerror=alert(1)&gt;" in sl and "&lt;b&gt;mallory&lt;/b&gt;&amp;co" in sl

    tm = teams.build(settings(teams, type="teams", url="http://x/"), v, m, "k")["attachments"][0]["content"]
    file_fact = next(f["value"] for f in tm["body"][1]["facts"] if f["title"] == "File")
    assert file_fact == r'/media/alice/KINGSTON/&lt;img src=x onerror=alert\(1\)&gt;\|a=b\\c\]"x\.xlsx'

    hive = thehive.build(settings(thehive, type="thehive", url="http://x/", api_key="k"), v, m, "k")
    assert r"&lt;img src=x onerror=alert\(1\)&gt;" in hive["description"] and "<" not in hive["description"]

    cef_line = syslog.build(settings(syslog, type="syslog", host="h", format="cef"), v, m, "k")["message"]
    cef = cef_line.split("] ", 1)[1]
    # The host's "|" would end a CEF header field; in the extension only "=" and "\\" are special.
    assert cef.startswith(r"CEF:0|LeakWarden|LeakWarden|0.1.0|pii.cn_resident_id|"
                          r"[HIGH] pii.cn_resident_id on pc\|1=x] (<b>mallory</b>&co)|8|rt=")
    assert r'filePath=/media/alice/KINGSTON/<img src\=x onerror\=alert(1)>|a\=b\\c]"x.xlsx' in cef
    assert r"dvchost=pc|1\=x]" in cef


def test_cef_header_escapes_pipe_and_backslash() -> None:
    assert escaping.cef_header("a|b\\c\nd") == "a\\|b\\\\c d"
    assert escaping.cef_value("a=b\\c\r\nd|e") == "a\\=b\\\\c\\r\\nd|e"
    assert escaping.sd_value('x"y]z\\') == 'x\\"y\\]z\\\\'


def test_operator_html_template_is_autoescaped_and_sandboxed() -> None:
    t = MessageTemplate("t.yaml", "forward.routes[0]", "{{ host }}: {{ file_name }}", "{{ path }}",
                        "<p>{{ path }}</p>")
    m = t.render(view(path=NASTY))
    assert m.html == "<p>/media/alice/KINGSTON/&lt;img src=x onerror=alert(1)&gt;|a=b\\c]&#34;x.xlsx</p>"
    assert m.body == NASTY  # text stays raw; each destination escapes for its own format
    evil = MessageTemplate("t.yaml", "r", "{{ ''.__class__.__mro__ }}", None, None)
    assert evil.render(view()).title == TITLE  # sandbox refused; the default template was used


def test_title_is_one_line() -> None:
    t = MessageTemplate("t.yaml", "r", "{{ path }}", None, None)
    assert t.render(view(path="/tmp/a\r\nBcc: x@evil.example\n.txt")).title == "/tmp/a Bcc: x@evil.example .txt"
