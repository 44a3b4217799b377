"""Security across the whole deployment: real collector and agent processes.

Covers issue 9's list: tokens used for another agent, revoked tokens, a viewer
attempting changes, path traversal on file-serving routes, hostile names
followed to the dashboard, malformed/oversized/fuzzed ingest, and a search of
every file the deployment wrote for planted sensitive values.
"""

from __future__ import annotations

import gzip
import html
import http.cookiejar
import json
import re
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.harness import Deployment, wait_for

PLANTED = {
    "resident id": "110105199003071239",
    "aws key": "AKIAQ3EGRZ7XN5LWPT2K",
    "card": "6222021234567890128",
    "password": "Zq7!vR2#pL9xWm4",
}
XSS_FILE = "<img src=x onerror=alert(1)>.txt"
XSS_HOST = '<script>alert("host")</script>'


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


def test_agent_tokens_are_bound_and_revocable(deploy) -> None:
    d = deploy()
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


def test_a_viewer_can_change_nothing(deploy) -> None:
    d = deploy()
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
    assert d.api("GET", f"/api/v1/alerts/{alert['id']}")["status"] == "new"


@pytest.mark.parametrize("path", [
    "/static/../server/config.py", "/static/%2e%2e/%2e%2e/server/config.py", "/static/..%2f..%2fetc/passwd",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/static//etc/passwd", "/static/....//....//etc/passwd",
    "/api/v1/../../etc/passwd", "/alerts/..%2f..%2fetc%2fpasswd",
])
def test_no_path_traversal(deploy, path: str) -> None:
    d = deploy(start=False)
    d.start_collector()
    # urllib would normalise the path; send it raw
    import http.client
    host, port = urllib.parse.urlparse(d.url).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    assert resp.status in (400, 401, 403, 404), (path, resp.status)
    assert b"root:x:0:0" not in body and b"ConfigError" not in body


def _dashboard_session(d: Deployment) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(d.url + "login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": d.user, "password": d.password, "csrf_token": token}).encode()
    opener.open(urllib.request.Request(d.url + "login", data=form, method="POST"))
    return opener


def test_hostile_names_reach_the_dashboard_as_text(deploy) -> None:
    d = deploy(agent_extra={"host": XSS_HOST})
    (d.watch / XSS_FILE).write_text(f"身份证号 {PLANTED['resident id']}\n", encoding="utf-8")
    alert = d.alert_for(XSS_FILE)
    assert alert["host"] == XSS_HOST  # stored verbatim, it is data
    opener = _dashboard_session(d)
    for page in ("alerts", f"alerts/{alert['id']}", ""):
        body = opener.open(d.url + page).read().decode()
        assert "<img src=x" not in body and "<script>alert" not in body, page
        if page.startswith("alerts/"):
            assert html.escape("<img src=x onerror=alert(1)>", quote=False) in body or "&lt;img src=x" in body
    csv = opener.open(d.url + "alerts.csv").read().decode()
    assert XSS_FILE in csv or "img src=x" in csv  # exported as text (a CSV is not HTML)


def test_malformed_and_oversized_ingest_are_refused_and_the_collector_keeps_serving(deploy) -> None:
    d = deploy(start=False)
    d.start_collector()
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
        assert status in expected, (raw[:30], status, body)
        assert isinstance(body, dict) and body.get("error"), body
    assert d.db_scalar("SELECT count(*) FROM events WHERE agent_id = ?", a_id) == 0
    assert d.request("GET", "/healthz")[0] == 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def test_ingest_fuzzed(deploy) -> None:
    d = deploy(start=False)
    d.start_collector()
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


def test_no_planted_value_in_clear_anywhere(deploy, tmp_path: Path) -> None:
    forwarded = tmp_path / "d0" / "state" / "forwarded.jsonl"
    d = deploy(server_extra={"forward": {"enabled": True, "destinations": {
        "filebeat": {"type": "jsonl", "path": str(forwarded)}}, "routes": [{"name": "all", "to": ["filebeat"]}]}})
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
    wait_for("the forwarded payload", lambda: forwarded.exists() and "secrets.conf" in forwarded.read_text(), 30)
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
    assert hits == []
    assert not any(v in detail for v in PLANTED.values())
