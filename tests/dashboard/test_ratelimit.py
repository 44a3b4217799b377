"""The login limiter under a flood of made-up names: memory stays bounded and no block is lifted.

The limiter is driven directly with explicit clock values (a flood of 100,000 sign-ins over HTTP
would take minutes); test_pages.py checks the same limiter through the real login forms.
"""

from __future__ import annotations

from server.config import default_config
from server.ratelimit import RateLimiter

LOGIN = default_config().login_rate  # 5 failures per 5 minutes


def test_a_flood_of_new_names_neither_resets_the_limiter_nor_grows_it() -> None:
    limiter = RateLimiter(LOGIN)  # the collector's default size, 100,000 keys
    for _ in range(5):
        limiter.take("user:alice", now=0.0)
        limiter.take("addr:203.0.113.9", now=0.0)
    assert limiter.blocked("user:alice", now=1.0) > 0
    for i in range(limiter.max_keys + 5_000):
        limiter.take(f"user:flood-{i}", now=1.0 + i * 1e-6)
    assert len(limiter) == limiter.max_keys
    assert limiter.blocked("user:alice", now=2.0) > 0 and limiter.blocked("addr:203.0.113.9", now=2.0) > 0
    # the flood's own newest names are still counted too: eviction took the least used, not all
    assert "user:flood-104999" in limiter


def test_expired_and_least_used_buckets_go_first() -> None:
    limiter = RateLimiter(LOGIN, max_keys=200)
    for i in range(100):  # long ago: refilled by now, the same as no counter
        limiter.take(f"user:old-{i}", now=0.0)
    for i in range(100):  # just now, each blocked
        for _ in range(5):
            limiter.take(f"user:guessed-{i}", now=1000.0)
    for i in range(100):
        limiter.take(f"user:new-{i}", now=1001.0)
    assert len(limiter) == 200
    assert not any(f"user:old-{i}" in limiter for i in range(100))
    assert all(limiter.blocked(f"user:guessed-{i}", now=1002.0) > 0 for i in range(100))
    # full of blocked names and one-attempt names: the one-attempt ones make room
    for i in range(150):
        limiter.take(f"user:more-{i}", now=1003.0)
    assert len(limiter) == 200
    assert all(limiter.blocked(f"user:guessed-{i}", now=1004.0) > 0 for i in range(100))
