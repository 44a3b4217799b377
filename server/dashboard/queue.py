"""The alert queue: filters kept in the URL, strict risk order, keyset pages.

The store orders by risk itself (``AlertFilter(order="risk")``: score
descending, then newest, with an index on ``(status, level, score, id)``), so
the queue is strictly score-ordered across pages. The cursor is
``<score>:<id>`` of the last row shown; every page is a few indexed range
scans, as fast at the millionth alert as at the first
(bench/dashboard_queue_bench.py). A text search pages the same way.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from multidict import MultiMapping

from server.store.interface import ALERT_STATUSES, LEVELS, OPEN_STATUSES, Alert, AlertFilter, Store

RANGES: dict[str, float | None] = {"24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0, "all": None}
MAX_TEXT = 200
FAMILIES_KNOWN = ("pii", "secret", "marking", "ml", "custom", "container")


@dataclass(slots=True)
class QueueQuery:
    """The filter as it stands in the URL (one source of truth for page, export and live updates)."""

    levels: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=lambda: list(OPEN_STATUSES))
    family: str = ""
    host: str = ""
    user: str = ""
    q: str = ""
    range: str = "all"
    since: str = ""  # datetime-local text, dashboard time zone
    until: str = ""
    cursor: str = ""
    errors: list[tuple[str, str]] = field(default_factory=list)  # (parameter, value) rejected

    def params(self, *, cursor: str | None = None) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = [("level", v) for v in self.levels]
        out += [("status", v) for v in self.statuses] or [("status", "any")]
        for name in ("family", "host", "user", "q", "since", "until"):
            value = getattr(self, name)
            if value:
                out.append((name, value))
        if self.range != "all":
            out.append(("range", self.range))
        if cursor:
            out.append(("after", cursor))
        return out

    def query_string(self, *, cursor: str | None = None) -> str:
        return urlencode(self.params(cursor=cursor))


def _parse_local(text: str, tz: dt.tzinfo) -> float | None:
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()
    except ValueError:
        return None


def parse_query(query: MultiMapping[str]) -> QueueQuery:
    """Read the filter from the query string; bad values are dropped and reported, never fatal."""
    qq = QueueQuery()
    levels = query.getall("level", [])
    qq.levels = [v for v in levels if v in LEVELS]
    qq.errors += [("level", v) for v in levels if v not in LEVELS]
    statuses = query.getall("status", [])
    if statuses:
        if "any" in statuses:
            qq.statuses = []
        else:
            qq.statuses = [v for v in statuses if v in ALERT_STATUSES]
            qq.errors += [("status", v) for v in statuses if v not in ALERT_STATUSES]
            if not qq.statuses:
                qq.statuses = list(OPEN_STATUSES)
    family = query.get("family", "")
    if family and (len(family) > 64 or not family.replace("_", "").isalnum() or not family.isascii()):
        qq.errors.append(("family", family))
    else:
        qq.family = family.lower()
    for name in ("host", "user", "q"):
        value = query.get(name, "").strip()
        if len(value) > MAX_TEXT:
            qq.errors.append((name, value[:40] + "…"))
        else:
            setattr(qq, name, value)
    rng = query.get("range", "all")
    if rng in RANGES:
        qq.range = rng
    else:
        qq.errors.append(("range", rng))
    for name in ("since", "until"):
        value = query.get(name, "")
        if value and _parse_local(value, dt.timezone.utc) is None:
            qq.errors.append((name, value))
        else:
            setattr(qq, name, value)
    cursor = query.get("after", "")
    if cursor and parse_cursor(cursor) is None:
        qq.errors.append(("after", cursor))
    else:
        qq.cursor = cursor
    return qq


def parse_cursor(cursor: str) -> tuple[int, int] | None:
    """``<score>:<id>``: the last row of the previous page in risk order (see :func:`risk_page`)."""
    score, _, raw = cursor.partition(":")
    if not score.isdigit() or len(score) > 3 or not raw.isdigit() or len(raw) > 18:
        return None
    return int(score), int(raw)


def base_filter(qq: QueueQuery, tz: dt.tzinfo, now: float | None = None) -> AlertFilter:
    now = time.time() if now is None else now
    since = _parse_local(qq.since, tz) if qq.since else None
    span = RANGES.get(qq.range)
    if span is not None:
        since = max(since or 0.0, now - span)
    return AlertFilter(
        level=list(qq.levels) or None,
        status=list(qq.statuses) or None,
        host=qq.host or None,
        user=qq.user or None,
        detector=f"{qq.family}.*" if qq.family else None,
        since=since,
        until=_parse_local(qq.until, tz) if qq.until else None,
        q=qq.q or None,
    )


@dataclass(slots=True)
class QueuePage:
    items: list[Alert]
    next_cursor: str | None


async def risk_page(store: Store, qq: QueueQuery, tz: dt.tzinfo, limit: int) -> QueuePage:
    """One page in risk order: highest score first, newest first among equal scores."""
    start = parse_cursor(qq.cursor) if qq.cursor else None
    page = await store.list_alerts(replace(base_filter(qq, tz), order="risk", limit=limit,
                                           before_score=start[0] if start else None,
                                           before_id=start[1] if start else None))
    cursor = f"{page.next_score}:{page.next_cursor}" if page.next_cursor is not None else None
    return QueuePage(page.items, cursor)


async def pages(store: Store, qq: QueueQuery, tz: dt.tzinfo, *, batch: int = 2000) -> AsyncIterator[list[Alert]]:
    """Every alert of the filter in queue order (CSV export), one keyset page at a time: no cap,
    and memory for one page whatever the total."""
    cursor = ""
    while True:
        page = await risk_page(store, replace(qq, cursor=cursor), tz, batch)
        if page.items:
            yield page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


#: new alerts a live poll sends at most; the rest follow in the next polls
LIVE_BATCH = 100
#: new alerts a live poll looks through; a bigger burst reloads the page instead
LIVE_WINDOW = 1000


async def newer_than(store: Store, qq: QueueQuery, tz: dt.tzinfo, after_id: int, *, limit: int = LIVE_BATCH,
                     window: int = LIVE_WINDOW) -> list[Alert] | None:
    """The oldest ``limit`` alerts of the filter created after ``after_id``, worst first (live
    updates; the caller moves its mark to the highest id sent, so the next poll sends the rest).
    None when more than ``window`` arrived: the page must reload rather than skip any."""
    flt = replace(base_filter(qq, tz), limit=min(500, window + 1))
    fresh: list[Alert] = []
    while True:
        page = await store.list_alerts(flt)
        newer = [a for a in page.items if a.id > after_id]
        fresh += newer
        if len(fresh) > window:
            return None
        if len(newer) < len(page.items) or page.next_cursor is None:
            break
        flt = replace(flt, before_id=page.next_cursor)
    fresh.sort(key=lambda a: a.id)
    batch = fresh[:limit]
    batch.sort(key=lambda a: (-a.score, -a.id))
    return batch


async def newest_id(store: Store, qq: QueueQuery, tz: dt.tzinfo) -> int:
    """The highest alert id of the filter: live updates show what arrives after it, on any page."""
    page = await store.list_alerts(replace(base_filter(qq, tz), limit=1))
    return page.items[0].id if page.items else 0
