"""Explanation lines carry a stable message id and parameters for the dashboard, while the API and
the forwarders keep seeing exactly ``{"factor", "detail", "points"}`` with the same English text."""

from __future__ import annotations

import json
import re

import msgspec
from aiohttp.test_utils import TestClient

from leakwarden.wire import Event
from server.config import DEFAULT_GRADING
from server.forward.alert import AlertView
from server.grading import MESSAGES, Factor, grade_event, message
from server.keys import STORE
from server.store.interface import AlertFilter
from tests.server.helpers import batch, enroll, event, finding, person

PUBLIC = {"factor", "detail", "points"}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
LEAK = dict(findings=[finding("marking.cn_state_secret", "critical", 1.0, level="秘密"),
                      finding("pii.cn_resident_id", "high", 0.9)],
            channel="network", destination={"host": "paste.example", "category": "pastebin"})


def _graded(**kw: object):  # type: ignore[no-untyped-def]
    return grade_event(msgspec.convert(event(0, **kw), Event), DEFAULT_GRADING, repetitions=2)


def test_every_line_has_a_message_whose_english_is_the_detail() -> None:
    g = _graded(**LEAK)
    details = {f["factor"]: f["detail"] for f in g.explanation}
    # the texts the API showed before messages existed
    assert details["detector"] == "marking.cn_state_secret (critical, confidence 1.00)"
    assert details["volume"] == "2 findings in one item"
    assert details["marking"] == "marked 秘密"
    assert details["channel"] == "sent over the network to paste.example (pastebin)"
    assert details["repetition"] == "2 earlier alert(s) for the same person or content"
    for line in g.explanation:
        assert set(line) == PUBLIC and isinstance(line, Factor)
        assert line.msg in MESSAGES and message(line.msg, **line.params).english == line["detail"]
    # quantities stay numbers (the dashboard formats them for its locale)
    by_factor = {f["factor"]: f for f in g.explanation}
    assert by_factor["volume"].params == {"count": 2}
    assert by_factor["detector"].params["confidence"] == 1.0


def test_capped_unknown_destination_and_event_lines() -> None:
    g = _graded(findings=[finding("marking.cn_state_secret", "critical", 1.0, level="绝密")] * 600,
                channel="network", destination={"ip": None})
    lines = {f["factor"]: f for f in g.explanation}
    assert lines["cap"]["detail"] == "score capped at 100" and lines["cap"].msg == "cap"
    assert lines["channel"]["detail"] == "sent over the network to an unknown destination (unknown)"
    attach = grade_event(msgspec.convert(event(0, "device.attach", device={"serial": "S1", "policy": "block"}),
                                         Event), DEFAULT_GRADING)
    [line] = [f for f in attach.explanation if f["factor"] == "event"]
    assert (line["detail"], line.msg, line.params) == ("device.attach", "event.kind", {"kind": "device.attach"})


def test_messages_for_collector_raised_alerts_read_like_their_current_texts() -> None:
    # what server/ingest.py and server/incidents.py write today, for when they build lines with message()
    assert message("device.lost_seen", device="7", status="lost", host="pc-01").english == \
        "device #7 marked lost was seen on pc-01"
    assert message("gap.missing", count=3, first="10", last="12").english == "3 event(s) missing (seq 10..12)"
    assert message("offline.silent", silent=901, deadline=900).english == "no contact for 901 s (deadline 900 s)"
    assert message("incident.step_kind", step="2", incident="5", kind="device.write").english == \
        "step 2 of incident #5 (device.write)"
    for msg_id, template in MESSAGES.items():
        params = {name: "x" for name in PLACEHOLDER.findall(template)}
        assert message(msg_id, **params).english  # every template fills from its own placeholders


def test_a_message_with_a_missing_parameter_fails_where_it_is_built() -> None:
    import pytest
    with pytest.raises(KeyError):
        message("volume.findings")
    with pytest.raises(KeyError):
        message("no.such.message")


async def test_stored_alert_keeps_messages_and_api_and_forwarders_keep_their_shape(client: TestClient) -> None:
    agent_id, agent = await enroll(client)
    r = await client.post("/api/v1/events", json=batch(agent_id, [event(0, **LEAK)]), headers=agent)
    assert r.status == 200, await r.text()
    admin = await person(client)
    r = await client.get("/api/v1/alerts", headers=admin)
    [answer] = (await r.json())["items"]
    assert all(set(line) == PUBLIC for line in answer["explanation"])
    assert "marked 秘密" in [line["detail"] for line in answer["explanation"]]

    store = client.server.app[STORE]
    [alert] = (await store.list_alerts(AlertFilter())).items
    assert [line["detail"] for line in alert.explanation] == [line["detail"] for line in answer["explanation"]]
    marking = next(f for f in alert.explanation if f["factor"] == "marking")
    assert (marking.msg, marking.params) == ("marking.level", {"marking": "秘密"})  # type: ignore[attr-defined]
    # forwarders copy and serialise the lines: the same three keys
    view = AlertView.from_alert(alert)
    assert all(set(line) == PUBLIC for line in view.explanation)
    assert all(set(line) == PUBLIC for line in json.loads(json.dumps(alert.explanation)))
    # a change that rewrites the alert (triage) keeps the messages
    alert.status = "acknowledged"
    await store.update_alert(alert)
    again = await store.get_alert(alert.id)
    assert again is not None and [getattr(f, "msg", None) for f in again.explanation] == \
        [getattr(f, "msg", None) for f in alert.explanation]


async def test_lines_stored_without_a_message_read_back_as_they_were(store) -> None:  # type: ignore[no-untyped-def]
    from tests.dashboard.seed import make_alert
    plain = make_alert(1, level="high", score=60, host="h", user="u", path="/p", detectors=["pii.email"], now=1e9)
    saved = await store.insert_alert(plain)
    back = await store.get_alert(saved.id)
    assert back.explanation == plain.explanation and not any(hasattr(f, "msg") for f in back.explanation)
