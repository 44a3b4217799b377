"""The forward: config section: the documented example loads, and each mistake names file and key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from leakwarden.errors import ConfigError
from server.forward.config import load_forward_config

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "forward.example.yaml"
ENV = {"LEAKWARDEN_WEBHOOK_SECRET": "w", "LEAKWARDEN_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/x",
       "LEAKWARDEN_TEAMS_WEBHOOK_URL": "https://example.webhook.office.com/x", "LEAKWARDEN_THEHIVE_API_KEY": "k",
       "LEAKWARDEN_SMTP_PASSWORD": "p"}


@pytest.fixture()
def example(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["forward"]


def test_example_loads(example: dict[str, Any]) -> None:
    cfg = load_forward_config(example, str(EXAMPLE))
    assert list(cfg.destinations) == ["siem", "filebeat", "qradar", "soc-chat", "soc-teams", "thehive",
                                      "security-mail", "duty-mail"]
    assert [r.name for r in cfg.router.routes] == ["siem-everything", "secrets-and-markings", "finance-office-hours",
                                                  "after-hours-critical", "duty"]
    assert cfg.outbox.backoff_max == 3600 and cfg.outbox.poll_interval == 0.5 and cfg.dedup_window == 300
    assert cfg.destinations["siem"].settings.secret == "w"
    assert cfg.destinations["security-mail"].rate_limit.per_second == 1  # type: ignore[union-attr]
    assert cfg.router.groups_of("FIN-PC-07") == frozenset({"finance"})


def test_nothing_configured_is_valid() -> None:
    cfg = load_forward_config(None, "server.yaml")
    assert cfg.destinations == {} and cfg.router.routes == ()


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    d = copy.deepcopy(data)
    *path, last = dotted.split(".")
    node: Any = d
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return d


_DELETE = object()


@pytest.mark.parametrize(("change", "value", "key", "problem"), [
    ("destinations.siem.type", "webhok", "forward.destinations.siem.type", "must be one of webhook"),
    ("destinations.siem.url", "ftp://x", "forward.destinations.siem.url", "http:// or https://"),
    ("destinations.siem.verfy", True, "forward.destinations.siem.verfy", "unknown key"),
    ("destinations.siem.secret", "also-inline", "forward.destinations.siem.secret",
     "give only one of secret, secret_env"),
    ("destinations.thehive.api_key_env", "NOT_SET_ANYWHERE", "forward.destinations.thehive.api_key_env",
     "environment variable NOT_SET_ANYWHERE is not set"),
    ("destinations.security-mail.to", ["soc@example.org\r\nBcc: x@evil"], "forward.destinations.security-mail.to",
     "not a plain e-mail address"),
    ("destinations.qradar.transport", "quic", "forward.destinations.qradar.transport", "must be one of udp"),
    ("destinations.qradar.port", 70000, "forward.destinations.qradar.port", "must be <= 65535"),
    ("destinations.siem.rate_limit", {"per_second": 0}, "forward.destinations.siem.rate_limit.per_second",
     "must be >= 0.001"),
    ("routes.0.to", ["siem", "nowhere"], "forward.routes[0].to", "unknown destination 'nowhere'"),
    ("routes.1.match.levels", ["urgent"], "forward.routes[1].match.levels", "'urgent' is not one of low"),
    ("routes.2.match.hours", "8am-6pm", "forward.routes[2].match.hours", "not a span like 08:00-18:00"),
    ("routes.2.match.host_groups", ["sales"], "forward.routes[2].match.host_groups", "unknown host group 'sales'"),
    ("routes.2.match.days", ["monday"], "forward.routes[2].match.days", "'monday' is not one of mon"),
    ("routes.2.title", "{{ host ", "forward.routes[2].title", "template syntax error"),
    ("routes.1.escalate_to", "nobody", "forward.routes[1].escalate_to", "no route named 'nobody'"),
    ("destinations.siem", {"type": "webhook", "url": "https://x/", "secret_file": "/nonexistent/secret"},
     "forward.destinations.siem.secret_file", "cannot read /nonexistent/secret"),
    ("destinations.filebeat.path", "/etc", "forward.destinations.filebeat.path", "not a regular file"),
    ("timezone", "Mars/Olympus", "forward.timezone", "unknown time zone"),
    ("outbox.backoff.factor", 0.5, "forward.outbox.backoff.factor", "must be >= 1.0"),
    ("outbox.lease", "forever", "forward.outbox.lease", "must be a duration"),
    ("sla.deadlines", {"high": "1h"}, "forward.sla.deadlines", "unknown key"),
    ("dedup", "5m", "forward.dedup", "must be a mapping"),
])
def test_mistakes_name_file_and_key(example: dict[str, Any], change: str, value: Any, key: str,
                                    problem: str) -> None:
    data = _set(example, change, value)
    with pytest.raises(ConfigError) as e:
        load_forward_config(data, "configs/server.yaml")
    assert e.value.source == "configs/server.yaml"
    assert e.value.key == key
    assert problem in e.value.problem


def test_duplicate_route_names_refused(example: dict[str, Any]) -> None:
    data = copy.deepcopy(example)
    data["routes"].append(dict(data["routes"][0]))
    with pytest.raises(ConfigError, match=r"forward.routes\[5\].name: duplicate route name 'siem-everything'"):
        load_forward_config(data, "server.yaml")


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match="server.yaml: forward: must be a mapping"):
        load_forward_config(["webhook"], "server.yaml")


def test_collector_config_file_with_a_bad_forward_section_fails_at_start(tmp_path: Path) -> None:
    from server.app import create_app
    from server.config import load

    path = tmp_path / "server.yaml"
    path.write_text("forward:\n  destinations:\n    siem: {type: webhook, url: 'https://siem/', timeout: soon}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        create_app(load(path, env={}))
    assert (e.value.source, e.value.key) == (str(path), "forward.destinations.siem.timeout")
