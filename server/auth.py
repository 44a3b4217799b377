"""People and agents: password hashing, sessions, tokens, roles.

Stable API for the dashboard engineer:
``hash_password``, ``verify_password``, ``authenticate(store, username, password)``,
``create_session(store, user, ttl=...) -> token``, ``user_for_token(store, token)``,
``end_session(store, token)``, ``ROLES``, ``has_role(user, minimum)``.

Secrets stored server-side are never the secret itself: passwords as argon2id
(memory-hard), random bearer tokens as SHA-256 (they carry 256 bits of entropy,
so a fast hash is enough and lets us look them up by index).
"""

from __future__ import annotations

import hashlib
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from leakwarden.errors import AuthError
from server.store.interface import ROLES, Agent, Session, Store, User

__all__ = ["ROLES", "ROLE_RANK", "AuthError", "authenticate", "create_session", "end_session", "has_role",
           "hash_password", "hash_token", "new_token", "user_for_token", "verify_password", "agent_for_token",
           "end_user_sessions"]

#: a higher rank includes the lower ones: admin > analyst > viewer
ROLE_RANK: dict[str, int] = {"viewer": 1, "analyst": 2, "admin": 3}
DEFAULT_SESSION_TTL = 8 * 3600.0
MIN_PASSWORD = 8

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory defaults
# verified against when the user does not exist, so timing does not reveal which names exist
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"password must be at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    """A bearer token: ``lws_`` (session), ``lwa_`` (agent), ``lwe_`` (enrollment) + 256 random bits."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def has_role(user: User, minimum: str) -> bool:
    return ROLE_RANK.get(user.role, 0) >= ROLE_RANK[minimum]


async def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user if the password is right and the account enabled, else None (constant-ish time)."""
    user = await store.get_user_by_name(username)
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or user.disabled:
        return None
    return user


async def create_session(store: Store, user: User, ttl: float = DEFAULT_SESSION_TTL) -> str:
    """A new session for the user; returns the bearer token (only its hash is stored)."""
    token = new_token("lws")
    now = time.time()
    await store.create_session(Session(token_hash=hash_token(token), user_id=user.id, created_at=now,
                                       expires_at=now + ttl))
    return token


async def user_for_token(store: Store, token: str) -> User | None:
    """The enabled user a live session token belongs to, else None."""
    if not token.startswith("lws_") or len(token) > 200:
        return None
    session = await store.get_session(hash_token(token))
    if session is None or session.expires_at <= time.time():
        return None
    user = await store.get_user(session.user_id)
    return None if user is None or user.disabled else user


async def end_session(store: Store, token: str) -> None:
    await store.delete_session(hash_token(token))


async def end_user_sessions(store: Store, user_id: int) -> int:
    """End every session of a user (disabled, password reset); returns how many.

    ``user_for_token`` already refuses a disabled user's sessions at each request; this also
    removes them, so re-enabling the account does not bring old tokens back to life.
    """
    return await store.delete_user_sessions(user_id)


async def agent_for_token(store: Store, token: str) -> Agent | None:
    """The enrolled, unrevoked agent a token belongs to, else None."""
    if not token.startswith("lwa_") or len(token) > 200:
        return None
    agent = await store.get_agent_by_token(hash_token(token))
    return None if agent is None or agent.revoked_at is not None else agent


async def add_user(store: Store, username: str, role: str, password: str) -> User:
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if not username or len(username) > 128 or not username.isprintable():
        raise AuthError("username must be 1-128 printable characters")
    return await store.create_user(username, role, hash_password(password), time.time())
