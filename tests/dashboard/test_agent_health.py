"""The dashboard's agent health agrees with the API's state, adding "degraded"."""

from __future__ import annotations

from server.api.agents import agent_state
from server.dashboard.overview import agent_health
from server.store.interface import Agent

NOW = 1_000_000.0


def agent(**kw: object) -> Agent:
    return Agent(id="a", token_hash="h", hostname="h", version="1", os="linux", enrolled_at=NOW - 10, **kw)  # type: ignore[arg-type]


def test_health_matches_the_api_state_and_adds_degraded() -> None:
    cases = {
        "online": agent(),  # just enrolled, not heard from yet: online for offline_after, as the API says
        "offline": agent(last_seen=NOW - 1000),
        "revoked": agent(revoked_at=NOW - 1),
        "degraded": agent(last_seen=NOW - 1, monitors={"files": "ok", "network": "degraded"}),
    }
    for expected, a in cases.items():
        assert agent_health(a, NOW, 300) == expected
        if expected != "degraded":
            assert agent_state(a, 300, NOW) == expected
    assert agent_health(agent(last_seen=NOW - 1000, degraded=["spool full"]), NOW, 300) == "offline"
