"""The person's dashboard language is kept on their account (SQLite and PostgreSQL) and shown by the API."""

from __future__ import annotations

import time

from aiohttp.test_utils import TestClient

from server.store.sql import SqlStore
from tests.server.helpers import password_hash, person


async def test_language_is_saved_per_user_and_can_be_cleared(store: SqlStore) -> None:
    assert await store.schema_version() >= 5
    ann = await store.create_user("ann", "analyst", password_hash(), time.time())
    bob = await store.create_user("bob", "viewer", password_hash(), time.time())
    assert ann.lang is None and (await store.get_user(ann.id)).lang is None  # type: ignore[union-attr]

    assert await store.set_user_lang(ann.id, "zh_CN") is True
    assert (await store.get_user(ann.id)).lang == "zh_CN"  # type: ignore[union-attr]
    assert (await store.get_user_by_name("ann")).lang == "zh_CN"  # type: ignore[union-attr]
    assert (await store.get_user(bob.id)).lang is None, "only that person's record changes"  # type: ignore[union-attr]
    # role and password changes keep the choice
    await store.update_user(ann.id, role="admin")
    assert (await store.get_user(ann.id)).lang == "zh_CN"  # type: ignore[union-attr]

    assert await store.set_user_lang(ann.id, None) is True
    assert (await store.get_user(ann.id)).lang is None  # type: ignore[union-attr]
    assert await store.set_user_lang(999_999, "en") is False


async def test_api_user_list_shows_the_language(client: TestClient) -> None:
    from server.keys import STORE

    admin = await person(client, "admin", name="root")
    store = client.server.app[STORE]
    ann = await store.create_user("ann", "analyst", password_hash(), time.time())
    await store.set_user_lang(ann.id, "zh_CN")
    r = await client.get("/api/v1/users", headers=admin)
    assert r.status == 200
    by_name = {u["username"]: u for u in (await r.json())["items"]}
    assert by_name["ann"]["lang"] == "zh_CN" and by_name["root"]["lang"] is None
    # nothing else about the representation changed
    assert set(by_name["ann"]) == {"id", "username", "role", "created_at", "disabled", "lang"}
