"""The redaction guard: values the detectors recognise never reach a payload in clear."""

from __future__ import annotations

import json
from pathlib import Path

from server.forward.outbox import Forwarder
from server.forward.redaction import Scrubber
from tests.forward.conftest import AWS_KEY, ID_NUMBER, forward_config, make_alert


def test_every_destination_payload_is_masked(tmp_path: Path) -> None:
    cfg = forward_config({
        "hook": {"type": "webhook", "url": "http://127.0.0.1:9/"},
        "slack": {"type": "slack", "url": "http://127.0.0.1:9/"},
        "teams": {"type": "teams", "url": "http://127.0.0.1:9/"},
        "hive": {"type": "thehive", "url": "http://127.0.0.1:9/", "api_key": "k"},
        "mail": {"type": "email", "host": "127.0.0.1", "from": "a@b.org", "to": ["c@d.org"]},
        "cef": {"type": "syslog", "host": "127.0.0.1", "format": "cef", "transport": "tcp"},
        "json": {"type": "syslog", "host": "127.0.0.1"},
        "file": {"type": "jsonl", "path": str(tmp_path / "a.jsonl")},
    })
    fw = Forwarder(cfg, store=None)  # type: ignore[arg-type]  # items() builds, it does not store
    alert = make_alert(path=f"C:\\Users\\bob\\{ID_NUMBER}.docx", user=f"svc-{AWS_KEY}",
                       device={"label": f"KEY {AWS_KEY}"}, destination={"host": f"{AWS_KEY.lower()}.example"},
                       title=f"pii.cn_resident_id · {ID_NUMBER}.docx")
    items = fw.items(fw.view(alert), cfg.router.routes, "level:high", 0.0)
    assert len(items) == 8
    for item in items:
        text = json.dumps(item.payload, ensure_ascii=False)
        assert ID_NUMBER not in text and AWS_KEY not in text, item.destination
        # masked, not dropped (Markdown destinations escape the stars)
        assert "3201**********1230" in text.replace("\\\\", ""), item.destination
    assert fw.scrubber.masked >= 3


def test_scrub_leaves_clean_payloads_untouched_and_masks_nested_strings() -> None:
    s = Scrubber()
    clean = {"a": ["1101**********002X", "9a" * 32, "alice@example.org"], "n": 3}
    assert s.scrub(clean) is clean
    dirty = {"a": [{"b": f"x {ID_NUMBER} y"}], "n": 3, "k": f"{AWS_KEY}"}
    assert s.scrub(dirty) == {"a": [{"b": "x 3201**********1230 y"}], "n": 3, "k": "AKIA************ST5U"}
