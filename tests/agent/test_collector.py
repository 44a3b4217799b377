"""The agent against the real collector (server.app.create_app) on loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.agent.conftest import MARKED, SENSITIVE, events_of, wait_for, write_config

server_app = pytest.importorskip("server.app")
from server.config import ServerConfig, default_config  # noqa: E402
from server.store import make_store  # noqa: E402

SECRET = "agent-test-enroll-secret-0123456789"


class Collector:
    def __init__(self, config: ServerConfig, port: int) -> None:
        self.config, self.port = config, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "Collector":
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(server_app.create_app(self.config))
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(30)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(30)

    def stored(self, ids: list[str]) -> dict[str, Any]:
        async def query() -> dict[str, Any]:
            store = make_store(self.config)
            await store.open()
            try:
                found = {i: await store.get_event(i) for i in ids}
                return {"events": {i: r for i, r in found.items() if r is not None}, "count": await store.count_events()}
            finally:
                await store.close()

        return asyncio.run(query())


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = Collector(default_config(data_dir=tmp_path / "collector", enroll_secret=SECRET, port=port), port).start()
    yield c
    c.stop()


def test_spooled_events_reach_the_real_collector_exactly_once(tmp_path: Path, collector: Collector, run_agent) -> None:
    # First offline (no collector configured): events wait in the spool.
    cfg = write_config(tmp_path)
    agent = run_agent(cfg)
    watched = Path(cfg.files.roots[0])
    (watched / "ids.txt").write_bytes(SENSITIVE)
    (watched / "memo.txt").write_bytes(MARKED)
    wait_for(lambda: len(events_of(cfg.state_dir, "file.create")) == 2)
    agent.stop(drain_timeout=0)
    ids = [e["id"] for e in events_of(cfg.state_dir)]
    # Then with the collector: enroll, ship, and the spool empties only on the collector's ack.
    cfg = write_config(tmp_path, collector={"url": f"http://127.0.0.1:{collector.port}", "enroll_secret": SECRET})
    agent = run_agent(cfg)
    wait_for(lambda: not events_of(cfg.state_dir), timeout=20)
    agent.stop(drain_timeout=5)
    got = collector.stored(ids)
    assert set(got["events"]) == set(ids)
    files = {Path(r.path).name: r for r in got["events"].values() if r.kind == "file.create"}
    assert set(files) == {"ids.txt", "memo.txt"}
    assert files["ids.txt"].data["findings"][0]["detector"] == "pii.cn_resident_id"
