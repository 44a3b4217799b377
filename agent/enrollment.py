"""The agent's identity: enrolled once, kept in the state directory (mode 0600)."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from leakwarden.errors import AuthError, LeakWardenError


@dataclass(frozen=True, slots=True)
class Identity:
    agent_id: str
    token: str
    heartbeat_interval: float | None = None


def identity_path(state_dir: str) -> Path:
    return Path(state_dir) / "identity.json"


def load_identity(state_dir: str) -> Identity | None:
    path = identity_path(state_dir)
    try:
        data = json.loads(path.read_text())
        return Identity(str(data["agent_id"]), str(data["token"]), data.get("heartbeat_interval"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise LeakWardenError(f"{path}: unreadable agent identity ({e}); delete it to enroll again") from e


def save_identity(state_dir: str, ident: Identity) -> None:
    path = identity_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start: the token must never be readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"agent_id": ident.agent_id, "token": ident.token, "heartbeat_interval": ident.heartbeat_interval}, f)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def forget_identity(state_dir: str) -> None:
    identity_path(state_dir).unlink(missing_ok=True)


def enroll_body(secret: str | None, token: str | None, host: str, version: str) -> dict[str, str]:
    cred = {"enroll_token": token} if token else {"enroll_secret": secret or ""}
    return {**cred, "hostname": host, "version": version, "os": f"{platform.system()} {platform.release()}"}


def parse_enroll_reply(status: int, data: object) -> Identity:
    if status not in (200, 201) or not isinstance(data, dict):
        raise AuthError(f"enrollment refused: HTTP {status}")
    try:
        return Identity(str(data["agent_id"]), str(data["token"]), data.get("heartbeat_interval"))
    except KeyError as e:
        raise AuthError(f"enrollment reply lacks {e}") from e
