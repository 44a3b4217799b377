"""Security across the whole deployment: real collector and agent processes.

Covers issue 9's list: tokens used for another agent, revoked tokens, a viewer
attempting changes, path traversal on file-serving routes, hostile file, host
and user names followed to the dashboard and to every forwarded payload,
malformed/oversized requests on every door (ingest, sign-in, enrollment,
dashboard forms), fuzzed ingest, and a search of every file the deployment
wrote and every byte the responders received for planted sensitive values.

One deployment serves the whole module (starting one costs seconds); it
forwards every alert to real receivers on loopback: aiosmtpd, an aiohttp
server standing in for the webhook, Slack, Teams and TheHive, syslog over TCP
(OCSF JSON) and UDP (CEF), and a JSON-lines file.
"""

from __future__ import annotations

import gzip
import http.client
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.burst import resident_id
from tests.e2e.harness import Deployment, wait_for
from tests.e2e.receivers import RECEIVER_KINDS, Receivers, mail_parts

PLANTED = {
    "resident id": "110105199003071239",
    "aws key": "AKIAQ3EGRZ7XN5LWPT2K",
    "card": "6222021234567890128",
    "password": "Zq7!vR2#pL9xWm4",
    # typed into the sign-in forms as a wrong password: must not be logged or stored either
    "typed password": "Wr0ng-Pa55word-Typed-7q",
}
# Attacker-controlled names. The real agent reports XSS_HOST and XSS_FILE; a second,
# hand-driven agent (a tampered endpoint holding a genuine token) reports the rest.
XSS_FILE = "<img src=x onerror=alert(1)>.txt"
XSS_HOST = '<script>alert("host")</script>'
XSS_USER = '"><svg onload=alert(3)>\r\nBcc: victim@example.org'
XSS_ENROLL_HOST = "<iframe srcdoc=x></iframe>"
XSS_FAKE_PATH = "/srv/share/<a href=javascript:alert(4)>x</a>|cs1=forged.txt"
XSS_ANALYST = "<b onmouseover=alert(5)>ana</b>"
XSS_NOTE = "<script src=https://evil.example/x.js></script>"
XSS_QUERY = '"><img src=x onerror=alert(6)>'
# What must appear, as text, where a name is shown (line breaks may be rendered differently).
USER_MARK = '"><svg onload=alert(3)>'


# -- the deployment ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def receivers() -> Iterator[Receivers]:
    r = Receivers().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, receivers: Receivers) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("security")
    server_extra = {
        **receivers.forward_config(root / "state" / "forwarded.jsonl"),
        # many sign-ins from one address in this module; the limiter has its own tests
        "auth": {"login_rate_limit": {"per_second": 50, "burst": 500}},
        "review": {"max_bytes": 1 << 20},  # so that "too large" costs one megabyte, not twenty
    }
    d = Deployment(root, server_extra=server_extra, agent_extra={"host": XSS_HOST})
    d.start()
    yield d
    d.stop()


@pytest.fixture
def d(site: Deployment) -> Deployment:
    """The module's deployment, running (the clear-text search stops it to flush everything)."""
    if site.collector is None or site.collector.poll() is not None:
        site.start_collector()
    if site.agent is None or site.agent.poll() is not None:
        site.start_agent()
    return site


def enroll(d: Deployment, hostname: str = "h") -> tuple[str, str]:
    secret = (d.state / "enroll.secret").read_text().strip()
    status, body = d.request("POST", "/api/v1/agents/enroll",
                             {"enroll_secret": secret, "hostname": hostname, "version": "t", "os": "linux"})
    assert status == 201, body
    return body["agent_id"], body["token"]


def batch(agent_id: str, seq: int = 1, **event: object) -> dict[str, object]:
    ev = {"id": str(uuid.uuid4()), "seq": seq, "time": time.time(), "kind": "file.write", "host": "h",
          "file": {"path": "/tmp/x.txt"}, **event}
    return {"schema": 1, "agent_id": agent_id, "events": [ev]}


def counts(d: Deployment) -> dict[str, Any]:
    """Rows of the tables a refused request could have written (events and alerts also grow with the
    real agent's heartbeats, so the tests that touch them compare the rows they care about)."""
    return {t: d.db_scalar(f"SELECT count(*) FROM {t}") for t in ("agents", "users", "sessions", "audit",
                                                                   "incidents", "reviews", "devices", "enroll_tokens")}


# -- a browser without a browser: cookies, CSRF, no redirect following --------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    def __init__(self, d: Deployment) -> None:
        self.base = d.url.rstrip("/")
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect)
        self.csrf = ""

    def send(self, method: str, path: str, data: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as r:
                status, body, hdrs = r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            status, body, hdrs = e.code, e.read(), dict(e.headers)
        text = body.decode("utf-8", "replace")
        m = re.search(r'name="csrf-token" content="([^"]+)"', text) or re.search(
            r'name="csrf_token" value="([^"]+)"', text)
        if m:
            self.csrf = m.group(1)
        return status, text, hdrs

    def get(self, path: str) -> tuple[int, str]:
        status, text, _ = self.send("GET", path)
        return status, text

    def post(self, path: str, form: dict[str, Any] | list[tuple[str, str]], *, csrf: bool = True) -> tuple[int, str]:
        fields = list(form.items()) if isinstance(form, dict) else list(form)
        if csrf:
            fields.append(("csrf_token", self.csrf))
        status, text, _ = self.send("POST", path, urllib.parse.urlencode(fields).encode(),
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        return status, text

    def login(self, user: str, password: str) -> int:
        self.get("/login")
        status, _ = self.post("/login", {"username": user, "password": password})
        if status == 303:
            self.get("/alerts")  # the CSRF token follows the new session
        return status


class Markup(HTMLParser):
    """What a browser would build: text, and any element a hostile name could have become."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.live: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if any(k.startswith("on") for k in a):
            self.live.append(f"<{tag}> with an event handler {a}")
        if tag in ("iframe", "object", "embed", "svg"):
            self.live.append(f"<{tag}>")
        if tag == "script" and not a.get("src", "").startswith("/static/"):
            self.live.append(f"<script src={a.get('src')!r}>")
        if any(v.strip().lower().startswith("javascript:") for v in a.values()):
            self.live.append(f"<{tag}> with a javascript: URL")
        if tag == "img" and a.get("src") == "x":
            self.live.append("<img src=x>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def shows(self, s: str) -> bool:
        return s in "".join(self.text)


# -- tokens, roles, paths ---------------------------------------------------------------------

def test_agent_tokens_are_bound_and_revocable(d: Deployment) -> None:
    a_id, a_tok = enroll(d, "a")
    b_id, _ = enroll(d, "b")
    before = d.db_scalar("SELECT count(*) FROM events")
    status, body = d.request("POST", "/api/v1/events", batch(b_id), token=a_tok)
    assert status == 403, body
    assert d.db_scalar("SELECT count(*) FROM events") == before
    status, _ = d.request("POST", "/api/v1/events", batch(a_id), token=a_tok)
    assert status == 200
    assert d.request("POST", "/api/v1/events", batch(a_id, 2), token="not-a-token")[0] == 401
    d.api("POST", f"/api/v1/agents/{a_id}/revoke")
    assert d.request("POST", "/api/v1/events", batch(a_id, 3), token=a_tok)[0] == 401


def test_a_viewer_can_change_nothing(d: Deployment) -> None:
    d.api("POST", "/api/v1/users", {"username": "vera", "role": "viewer", "password": "viewer-pass-123456"})
    tok = d.login("vera", "viewer-pass-123456")
    (d.watch / "a.txt").write_text(f"身份证号 {PLANTED['resident id']}\n", encoding="utf-8")
    alert = d.alert_for("a.txt")
    assert d.request("GET", "/api/v1/alerts", token=tok)[0] == 200
    attempts = [
        ("POST", f"/api/v1/alerts/{alert['id']}/status", {"status": "acknowledged", "note": "x"}),
        ("PATCH", f"/api/v1/alerts/{alert['id']}", {"status": "false_positive", "note": "x"}),
        ("POST", "/api/v1/enroll-tokens", {}),
        ("POST", "/api/v1/users", {"username": "eve", "role": "admin", "password": "eve-pass-123456789"}),
        ("POST", f"/api/v1/agents/{alert['agent_id']}/revoke", {}),
    ]
    for method, path, body in attempts:
        status, payload = d.request(method, path, body, token=tok)
        assert status == 403, (method, path, status, payload)
    # the same through the dashboard's forms
    viewer = Browser(d)
    assert viewer.login("vera", "viewer-pass-123456") == 303
    assert viewer.post(f"/alerts/{alert['id']}/status", {"status": "acknowledged"})[0] == 403
    assert viewer.post("/alerts/bulk", [("op", "acknowledge"), ("ids", str(alert["id"]))])[0] == 403
    assert viewer.post(f"/agents/{alert['agent_id']}/revoke", {})[0] == 403
    assert d.api("GET", f"/api/v1/alerts/{alert['id']}")["status"] == "new"


@pytest.mark.parametrize("path", [
    "/static/../server/config.py", "/static/%2e%2e/%2e%2e/server/config.py", "/static/..%2f..%2fetc/passwd",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/static//etc/passwd", "/static/....//....//etc/passwd",
    "/api/v1/../../etc/passwd", "/alerts/..%2f..%2fetc%2fpasswd",
])
def test_no_path_traversal(d: Deployment, path: str) -> None:
    # urllib would normalise the path; send it raw
    host, port = urllib.parse.urlparse(d.url).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    assert resp.status in (400, 401, 403, 404), (path, resp.status)
    assert b"root:x:0:0" not in body and b"ConfigError" not in body


# -- hostile names: dashboard and every forwarded payload ---------------------------------------

def _walk_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_strings(v)


RAW_MARKUP = ("<img", "<script", "<svg", "<iframe", "<a href", "<b on")


@pytest.fixture(scope="module")
def hostile(site: Deployment, receivers: Receivers) -> dict[str, Any]:
    """Alerts carrying every hostile name, a hostile analyst's note on one, and all of it forwarded."""
    d = site
    # content no other test writes: the forwarder folds repeats of the same content into one summary
    (d.watch / XSS_FILE).write_text(f"身份证号 {resident_id(1)}\n", encoding="utf-8")
    real = d.alert_for(XSS_FILE)
    fake_id, fake_tok = enroll(d, XSS_ENROLL_HOST)
    finding = {"detector": "pii.cn_resident_id", "severity": "critical", "confidence": 0.99,
               "location": {"path": XSS_FAKE_PATH, "start": 0, "end": 18}, "masked": "110105********1239",
               "hash": "ab" * 32}
    status, body = d.request("POST", "/api/v1/events", batch(
        fake_id, host=XSS_ENROLL_HOST, user=XSS_USER, file={"path": XSS_FAKE_PATH},
        process={"pid": 4242, "name": "cp", "user": XSS_USER}, findings=[finding]), token=fake_tok)
    assert status == 200, body
    fake = d.alert_for(XSS_FAKE_PATH)
    assert (real["host"], fake["user"]) == (XSS_HOST, XSS_USER)  # stored verbatim: it is data
    # an analyst whose own name is hostile acknowledges with a hostile note (shown in the audit trail)
    d.api("POST", "/api/v1/users", {"username": XSS_ANALYST, "role": "analyst", "password": "analyst-pass-12345"})
    tok = d.login(XSS_ANALYST, "analyst-pass-12345")
    status, body = d.request("POST", f"/api/v1/alerts/{real['id']}/status",
                             {"status": "acknowledged", "assignee": XSS_ANALYST, "note": XSS_NOTE}, token=tok)
    assert status == 200, body
    wait_for("both alerts at every receiver", lambda: receivers.got.everywhere("onerror", "svg onload"), 30)
    return {"real": real, "fake": fake}


def test_hostile_names_reach_the_dashboard_as_text(d: Deployment, hostile: dict[str, Any]) -> None:
    real, fake = hostile["real"], hostile["fake"]
    b = Browser(d)
    assert b.login(d.user, d.password) == 303
    must_show = {
        f"/alerts/{real['id']}": [XSS_FILE, XSS_HOST, XSS_ANALYST, XSS_NOTE],
        f"/alerts/{fake['id']}": [USER_MARK, "<a href=javascript:alert(4)>x</a>|cs1=forged.txt"],
        "/agents": [XSS_ENROLL_HOST],
        "/alerts?status=any": [XSS_HOST],
        # names typed into filters come back in the page
        f"/alerts?host={urllib.parse.quote(XSS_QUERY)}&q={urllib.parse.quote(XSS_QUERY)}": [],
        f"/alerts?level={urllib.parse.quote(XSS_QUERY)}": [],
        "/": [], "/alerts/live?since=0": [], "/incidents": [], "/devices": [],
    }
    for inc in {real.get("incident_id"), fake.get("incident_id")} - {None}:
        must_show[f"/incidents/{inc}"] = []
    for path, texts in must_show.items():
        status, page = b.get(path)
        assert status == 200, (path, status)
        markup = Markup(page)
        assert markup.live == [], (path, markup.live)
        for text in texts:
            assert markup.shows(text), f"{path} does not show {text!r} as text"
    status, page = Browser(d).get(f"/login?next=/{urllib.parse.quote(XSS_QUERY)}")  # signed out
    assert status == 200 and Markup(page).live == []
    # a spreadsheet is not a browser: the CSV holds the names as data, formulas defused
    status, csv = b.get("/alerts.csv?status=any")
    assert status == 200 and XSS_FILE in csv and USER_MARK in csv


def test_hostile_names_in_every_forwarded_payload(d: Deployment, hostile: dict[str, Any],
                                                   receivers: Receivers) -> None:
    got = receivers.got
    stem = XSS_FILE.removesuffix(".txt")
    # JSON documents (webhook, TheHive observables, OCSF in syslog and JSONL) carry the names as data, verbatim
    for kind in ("webhook", "thehive"):
        docs = [json.loads(b) for b in got.bodies(kind)]
        values = [s for doc in docs for s in _walk_strings(doc)]
        for name in (XSS_HOST, XSS_USER, XSS_ENROLL_HOST):
            assert any(name in s for s in values), (kind, name)
    assert all(p.signed for p in got.posts if p.path.startswith("/webhook"))  # HMAC over the exact body
    # Slack decodes &lt; &gt; &amp; in every text field: no raw markup anywhere in the payload
    for kind in ("slack", "teams"):
        values = [s for b in got.bodies(kind) for s in _walk_strings(json.loads(b))]
        raw = [s for s in values if any(m in s for m in RAW_MARKUP)]
        assert raw == [], (kind, raw[:3])
        assert any("&lt;script&gt;" in s for s in values), kind  # the host name is there, escaped
        assert any("svg onload" in s for s in values), kind  # so is the user name
    # TheHive renders its description as Markdown
    for doc in (json.loads(b) for b in got.bodies("thehive")):
        assert not any(m in doc["description"] for m in RAW_MARKUP), doc["description"]
    # e-mail: the HTML part escapes; the subject stays one line; no header smuggled in by a user name
    parts = [mail_parts(m) for m in got.mails]
    for raw, part in zip(got.mails, parts):
        assert "\n" not in part["subject"] and "\r" not in part["subject"]
        headers = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        assert not re.search(rb"^Bcc:", headers, re.M | re.I), headers
        markup = Markup(part["html"])
        assert markup.live == [], markup.live
    html_text = "".join("".join(Markup(p["html"]).text) for p in parts)
    plain = "".join(p["plain"] for p in parts)
    for text in (stem, XSS_HOST, USER_MARK):
        assert text in html_text and text in plain, text
    # syslog: one line per message; OCSF JSON after the RFC 5424 header; CEF escapes '=' and '|'
    for msg in got.syslog_tcp + got.syslog_udp:
        assert b"\n" not in msg and b"\r" not in msg, msg[:200]
    ocsf = [json.loads(m.decode().split("\ufeff", 1)[1]) for m in got.syslog_tcp]
    assert any(XSS_USER in s for doc in ocsf for s in _walk_strings(doc))
    cef = b"".join(got.syslog_udp).decode()
    assert "onerror\\=alert(1)" in cef and "onerror=alert(1)" not in cef
    assert "|cs1\\=forged.txt" in cef and "cs1=forged" not in cef  # no forged CEF key
    # the JSON-lines file: one document per line whatever the names hold
    lines = (d.state / "forwarded.jsonl").read_text(encoding="utf-8").splitlines()
    docs = [json.loads(line) for line in lines]
    assert any(XSS_USER in s for doc in docs for s in _walk_strings(doc))
    assert any(XSS_FILE in s for doc in docs for s in _walk_strings(doc))


# -- malformed and oversized requests on every door ---------------------------------------------

def _refused(status: int, body: Any, expected: set[int], what: str) -> None:
    assert status in expected, (what, status, body)
    assert isinstance(body, dict) and body.get("error"), (what, body)


def test_malformed_and_oversized_ingest_are_refused_and_the_collector_keeps_serving(d: Deployment) -> None:
    a_id, tok = enroll(d)
    cases = [
        (b"{not json", {}, {400}),
        (json.dumps({"schema": 1, "agent_id": a_id, "events": [{"id": "x"}]}).encode(), {}, {422}),
        (json.dumps({**batch(a_id), "extra": 1}).encode(), {}, {422}),
        (b"\xff\xfe\x00garbage", {}, {400}),
        (gzip.compress(b"[" * 10), {"Content-Encoding": "gzip"}, {400, 422}),
        (gzip.compress(b" " * (64 << 20)), {"Content-Encoding": "gzip"}, {413}),  # a gzip bomb
    ]
    for raw, headers, expected in cases:
        status, body = d.request("POST", "/api/v1/events", raw=raw, token=tok, headers=headers)
        _refused(status, body, expected, raw[:30])
    assert d.db_scalar("SELECT count(*) FROM events WHERE agent_id = ?", a_id) == 0
    assert d.request("GET", "/healthz")[0] == 200


def test_malformed_and_oversized_sign_in_is_refused(d: Deployment) -> None:
    before = counts(d)
    typed = PLANTED["typed password"]
    cases: list[tuple[bytes, dict[str, str], set[int]]] = [
        (b"{not json", {}, {400}),
        (b"\xff\xfe\x00garbage", {}, {400}),
        (b"[]", {}, {422}),
        (json.dumps({"username": d.user}).encode(), {}, {422}),
        (json.dumps({"username": d.user, "password": typed, "role": "admin"}).encode(), {}, {422}),
        (json.dumps({"username": "", "password": typed}).encode(), {}, {422}),
        (json.dumps({"username": 7, "password": typed}).encode(), {}, {422}),
        (json.dumps({"username": "x" * 129, "password": typed}).encode(), {}, {422}),
        (json.dumps({"username": d.user, "password": typed * 100}).encode(), {}, {422}),
        (json.dumps({"username": d.user, "password": "p" * (1 << 20)}).encode(), {}, {413}),
        (gzip.compress(b" " * (8 << 20)), {"Content-Encoding": "gzip"}, {413}),
        (json.dumps({"username": d.user, "password": typed}).encode(), {}, {401}),  # well formed, wrong
    ]
    for raw, headers, expected in cases:
        status, body = d.request("POST", "/api/v1/auth/login", raw=raw, headers=headers)
        _refused(status, body, expected, raw[:40])
    # a bearer token of garbage, or too long to be a header
    assert d.request("GET", "/api/v1/auth/me", token="lws_" + "A" * 300)[0] == 401
    assert d.request("GET", "/api/v1/auth/me", token="x" * 20000)[0] in (400, 401, 431)

    # the dashboard's sign-in form
    b = Browser(d)
    b.get("/login")
    assert b.post("/login", {"username": d.user, "password": d.password}, csrf=False)[0] == 403  # no CSRF token
    assert b.post("/login", {"username": d.user, "password": typed})[0] == 401
    assert b.post("/login", {"username": d.user + "x" * 100_000, "password": typed})[0] == 401
    assert b.post("/login", {"username": "", "password": ""})[0] == 401
    assert b.post("/login", {"username": d.user, "password": d.password + "\x00"})[0] == 401
    status, _, _ = b.send("POST", "/login", b"a=" + b"b" * (12 << 20),
                          {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413, status
    assert counts(d) == before  # no session, user or audit row from any of it
    assert d.request("GET", "/healthz")[0] == 200
    assert b.login(d.user, d.password) == 303  # and it still lets the right person in


def test_malformed_and_oversized_enrollment_is_refused(d: Deployment) -> None:
    before = counts(d)
    secret = (d.state / "enroll.secret").read_text().strip()
    good = {"enroll_secret": secret, "hostname": "h", "version": "t", "os": "linux"}
    cases = [
        (b"{not json", {400}),
        (b"\xff\xfe\x00garbage", {400}),
        (json.dumps({**good, "hostname": ""}).encode(), {422}),
        (json.dumps({**good, "hostname": "h" * 257}).encode(), {422}),
        (json.dumps({**good, "hostname": ["h"]}).encode(), {422}),
        (json.dumps({**good, "admin": True}).encode(), {422}),
        (json.dumps({**good, "enroll_token": "t"}).encode(), {422}),  # both credentials
        (json.dumps({k: v for k, v in good.items() if k != "enroll_secret"}).encode(), {422}),  # neither
        (json.dumps({**good, "os": "x" * (32 << 10)}).encode(), {413}),
        (json.dumps({**good, "enroll_secret": secret + "x"}).encode(), {401}),
        (json.dumps({"enroll_token": "lwe_" + "0" * 40, "hostname": "h"}).encode(), {401}),
    ]
    for raw, expected in cases:
        status, body = d.request("POST", "/api/v1/agents/enroll", raw=raw)
        _refused(status, body, expected, raw[:40])
    assert counts(d) == before  # no half-enrolled agent, no audit row
    assert enroll(d, "after-the-noise")[0]  # and enrollment still works


def test_malformed_and_oversized_dashboard_forms_are_refused(d: Deployment) -> None:
    (d.watch / "forms.txt").write_text(f"身份证号 {resident_id(2)}\n", encoding="utf-8")
    alert = d.alert_for("forms.txt")
    b = Browser(d)
    assert b.login(d.user, d.password) == 303
    before, state = counts(d), d.api("GET", f"/api/v1/alerts/{alert['id']}")
    aid = alert["id"]
    cases: list[tuple[str, Any, bool, set[int]]] = [
        (f"/alerts/{aid}/status", {"status": "acknowledged"}, False, {403}),  # no CSRF token
        (f"/alerts/{aid}/status", {"status": "pwned"}, True, {400}),
        (f"/alerts/{aid}/status", {"status": "resolved"}, True, {400}),  # resolving needs a note
        (f"/alerts/{aid}/status", {"status": "acknowledged", "note": "n" * 4001}, True, {400}),
        (f"/alerts/{aid}/status", {"assignee": "a" * 129}, True, {400}),
        (f"/alerts/{aid}/status", {"assignee": "nobody-by-that-name"}, True, {400}),
        ("/alerts/999999999/status", {"status": "acknowledged"}, True, {404}),
        ("/alerts/bulk", [("op", "delete"), ("ids", str(aid))], True, {400}),
        ("/alerts/bulk", [("op", "acknowledge"), *[("ids", str(i)) for i in range(1, 600)]], True, {400}),
        ("/alerts/bulk", [("op", "false_positive"), ("ids", str(aid)), ("note", "n" * 5000)], True, {400}),
        ("/incidents/999999999/status", {"status": "closed"}, True, {400, 404}),
        ("/devices/999999999/status", {"status": "allowed"}, True, {400, 404}),
        ("/devices/1/status", {"status": "<b>"}, True, {400}),
        ("/agents/no-such-agent/revoke", {}, True, {404}),
    ]
    if alert.get("incident_id"):
        cases += [(f"/incidents/{alert['incident_id']}/status", {"status": "pwned"}, True, {400}),
                  (f"/incidents/{alert['incident_id']}/status", {"status": "closed", "note": "n" * 4001}, True, {400})]
    for path, form, csrf, expected in cases:
        status, _ = b.post(path, form, csrf=csrf)
        assert status in expected, (path, str(form)[:80], status)
    # a form larger than any request may be, and a review upload over review.max_bytes
    status, _, _ = b.send("POST", f"/alerts/{aid}/status", b"note=" + b"n" * (12 << 20),
                          {"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": b.csrf})
    assert status == 413, status
    boundary = "lwboundary"
    upload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"big.txt\"\r\n"
              f"Content-Type: text/plain\r\n\r\n").encode() + b"x" * ((1 << 20) + 10) + f"\r\n--{boundary}--\r\n".encode()
    status, _, _ = b.send("POST", "/review", upload, {"Content-Type": f"multipart/form-data; boundary={boundary}",
                                                      "X-CSRF-Token": b.csrf})
    assert status == 413, status
    assert counts(d) == before  # no audit entry, no review record, nothing half-changed
    after = d.api("GET", f"/api/v1/alerts/{alert['id']}")
    assert {k: after[k] for k in ("status", "assignee", "note")} == {k: state[k] for k in ("status", "assignee", "note")}
    assert d.request("GET", "/healthz")[0] == 200
    # the same form, well formed, still works
    assert b.post(f"/alerts/{aid}/status", {"status": "acknowledged", "note": "checked"})[0] == 303
    assert d.api("GET", f"/api/v1/alerts/{alert['id']}")["status"] == "acknowledged"


def test_a_form_body_that_is_not_utf8_is_a_clear_4xx(d: Deployment) -> None:
    b = Browser(d)
    b.get("/login")
    status, _, _ = b.send("POST", "/login", b"\xff\xfe\x00" * 1000,
                          {"Content-Type": "application/x-www-form-urlencoded"})
    assert d.request("GET", "/healthz")[0] == 200
    assert 400 <= status < 500, status


def test_a_malformed_review_upload_is_a_clear_4xx(d: Deployment) -> None:
    b = Browser(d)
    assert b.login(d.user, d.password) == 303
    status, _, _ = b.send("POST", "/review", b"--x\r\ngarbage\r\n\r\nbody\r\n--x--\r\n",
                          {"Content-Type": "multipart/form-data; boundary=x", "X-CSRF-Token": b.csrf})
    assert d.request("GET", "/healthz")[0] == 200
    assert 400 <= status < 500, status


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def test_ingest_fuzzed(d: Deployment) -> None:
    a_id, tok = enroll(d)
    event_keys = st.sampled_from(["id", "seq", "time", "kind", "host", "file", "findings", "channel", "user",
                                  "attributes", "device", "destination", "process"])

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(
        json_values,
        st.builds(lambda evs: {"schema": 1, "agent_id": a_id, "events": evs},
                  st.lists(st.dictionaries(event_keys, json_values, max_size=8), max_size=3)),
    ))
    def post(body: object) -> None:
        status, payload = d.request("POST", "/api/v1/events", body, token=tok)
        assert status < 500, (body, status, payload)
        if status >= 400:
            assert isinstance(payload, dict) and payload.get("error")

    post()
    assert d.request("GET", "/healthz")[0] == 200


# -- last: nothing sensitive in clear, anywhere ------------------------------------------------

def test_no_planted_value_in_clear_anywhere(d: Deployment, receivers: Receivers) -> None:
    content = "\n".join([
        f"身份证号：{PLANTED['resident id']}",
        f"aws_access_key_id = {PLANTED['aws key']}",
        f"卡号 {PLANTED['card']}",
        f'db_password = "{PLANTED["password"]}"',
    ]) + "\n"
    (d.watch / "secrets.conf").write_text(content, encoding="utf-8")
    alert = d.alert_for("secrets.conf")
    assert {"pii.cn_resident_id", "secret.aws_access_key", "pii.payment_card", "secret.password"} <= set(alert["detectors"])
    detail = json.dumps(d.api("GET", f"/api/v1/alerts/{alert['id']}"), ensure_ascii=False)
    # wrong passwords typed at both sign-in doors
    assert d.request("POST", "/api/v1/auth/login", {"username": d.user, "password": PLANTED["typed password"]})[0] == 401
    assert Browser(d).login(d.user, PLANTED["typed password"]) == 401
    got = receivers.got
    wait_for("the alert at every receiver", lambda: got.everywhere("secrets"), 30)  # Teams escapes the dot
    forwarded = d.state / "forwarded.jsonl"
    wait_for("the forwarded JSON line", lambda: "secrets.conf" in forwarded.read_text(encoding="utf-8"), 30)
    d.stop()  # flush everything to disk
    hits = []
    for path in d.root.rglob("*"):
        if not path.is_file() or d.watch in path.parents:
            continue
        data = path.read_bytes()
        for name, value in PLANTED.items():
            for form in (value.encode(), value.encode("utf-16-le")):
                if form in data:
                    hits.append(f"{name} in {path.relative_to(d.root)}")
    # what the responders received, raw and with mail bodies decoded (base64 would hide a value)
    for kind in RECEIVER_KINDS:
        for text in got.texts(kind):
            hits += [f"{name} at the {kind} receiver" for name, value in PLANTED.items() if value in text]
    for raw in got.mails:  # headers too
        hits += [f"{name} in a raw mail" for name, value in PLANTED.items() if value.encode() in raw]
    assert hits == []
    assert not any(v in detail for v in PLANTED.values())
