"""``leakwarden server | user | agents``: run the collector and administer it from the shell.

``add_parser(subparsers)`` is called once by ``leakwarden/cli.py`` and adds the
three subcommands; each parser sets ``func``.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import logging
import secrets
import socket
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from leakwarden.errors import AuthError, ConfigError, LeakWardenError, StoreError
from server import config as config_mod

log = logging.getLogger("leakwarden.server")


ROLES = ("admin", "analyst", "viewer")


def _command(actions: Any, name: str, func: Any, help: str, *positional: str) -> argparse.ArgumentParser:
    """One ACTION of a command group: its positional arguments, ``--config`` and its handler."""
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help)
    for arg in positional:
        parser.add_argument(arg)
    parser.add_argument("--config", help="collector config (default configs/server.yaml)")
    parser.set_defaults(func=func)
    return parser


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("server", help="run the collector")
    p.add_argument("--config", help="collector config (default configs/server.yaml)")
    p.set_defaults(func=run_server)

    u = subparsers.add_parser("user", help="manage collector accounts")
    usub = u.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = _command(usub, "add", user_add, "create an account", "name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _command(usub, "list", user_list, "list accounts")
    _command(usub, "disable", user_disable, "lock an account out and end its sessions", "name")
    _command(usub, "enable", user_enable, "let a disabled account sign in again", "name")
    _command(usub, "set-role", user_set_role, "change an account's role", "name").add_argument("role", choices=ROLES)
    rp = _command(usub, "reset-password", user_reset_password, "set a new password (prompted, or --password-stdin, "
                  "or --generate to print a random one) and end its sessions", "name")
    how = rp.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    how.add_argument("--generate", action="store_true", help="make a random password and print it once")

    a = subparsers.add_parser("agents", help="manage enrolled agents and enrollment tokens")
    asub = a.add_subparsers(dest="agents_command", metavar="ACTION", required=True)
    _command(asub, "enroll-token", agents_token, "create a one-time enrollment token (printed once)").add_argument(
        "--ttl", type=float, default=None, help="seconds until it expires")
    _command(asub, "list", agents_list, "list agents")
    _command(asub, "tokens", agents_tokens, "list enrollment tokens")
    _command(asub, "revoke", agents_revoke, "revoke an agent's token", "agent_id")
    _command(asub, "revoke-token", agents_revoke_token, "revoke an unused enrollment token", "token_id")


def _load(args: argparse.Namespace) -> config_mod.ServerConfig:
    return config_mod.load(args.config)


def _with_store(args: argparse.Namespace, job: Callable[[Any, config_mod.ServerConfig], Awaitable[int]]) -> int:
    try:
        cfg = _load(args)
        config_mod.check_start(cfg, listen=False)
    except ConfigError as e:
        print(f"leakwarden: {e}", file=sys.stderr)
        return 2

    async def main() -> int:
        from server.store import open_store
        store = await open_store(cfg)
        try:
            return await job(store, cfg)
        finally:
            await store.close()
    try:
        return asyncio.run(main())
    except (StoreError, AuthError) as e:
        print(f"leakwarden: {e}", file=sys.stderr)
        return 1


def user_add(args: argparse.Namespace) -> int:
    password = _read_password(args)
    if password is None:
        return 1

    async def job(store: Any, cfg: config_mod.ServerConfig) -> int:
        from server.auth import add_user
        user = await add_user(store, args.name, args.role, password)
        await store.add_audit("cli", "user.create", "user", str(user.id), {"username": user.username,
                                                                           "role": user.role}, time.time())
        print(f"created {user.role} {user.username}")
        return 0
    return _with_store(args, job)


def _read_password(args: argparse.Namespace) -> str | None:
    """From stdin, or prompted twice; None (after saying why) if the two prompts differ."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != password:
        print("leakwarden: passwords differ", file=sys.stderr)
        return None
    return password


def _change_user(args: argparse.Namespace, action: str, change: Callable[[Any, Any], Awaitable[str]]) -> int:
    """Find the account, apply ``change(store, user)`` (returns what to print), audit it as ``action``."""
    async def job(store: Any, cfg: config_mod.ServerConfig) -> int:
        user = await store.get_user_by_name(args.name)
        if user is None:
            print(f"leakwarden: no user {args.name!r}", file=sys.stderr)
            return 1
        said = await change(store, user)
        await store.add_audit("cli", action, "user", str(user.id), {"username": user.username}, time.time())
        print(said)
        return 0
    return _with_store(args, job)


def user_disable(args: argparse.Namespace) -> int:
    async def change(store: Any, user: Any) -> str:
        from server.auth import end_user_sessions
        await store.update_user(user.id, disabled=True)
        ended = await end_user_sessions(store, user.id)
        return f"disabled {user.username}; {ended} session(s) ended"
    return _change_user(args, "user.disable", change)


def user_enable(args: argparse.Namespace) -> int:
    async def change(store: Any, user: Any) -> str:
        await store.update_user(user.id, disabled=False)
        return f"enabled {user.username}"
    return _change_user(args, "user.enable", change)


def user_set_role(args: argparse.Namespace) -> int:
    async def change(store: Any, user: Any) -> str:
        # sessions stay: every request reads the account, so the new role applies to the next one
        await store.update_user(user.id, role=args.role)
        return f"{user.username} is now {args.role}"
    return _change_user(args, "user.role", change)


def user_reset_password(args: argparse.Namespace) -> int:
    if args.generate:
        password = secrets.token_urlsafe(18)
    else:
        given = _read_password(args)
        if given is None:
            return 1
        password = given

    async def change(store: Any, user: Any) -> str:
        from server.auth import end_user_sessions, hash_password
        await store.update_user(user.id, password_hash=hash_password(password))
        ended = await end_user_sessions(store, user.id)
        said = f"password of {user.username} reset; {ended} session(s) ended"
        return f"{said}\nnew password: {password}" if args.generate else said
    return _change_user(args, "user.password_reset", change)


def user_list(args: argparse.Namespace) -> int:
    async def job(store: Any, cfg: config_mod.ServerConfig) -> int:
        for u in await store.list_users():
            print("\t".join([u.username, u.role] + (["disabled"] if u.disabled else [])))
        return 0
    return _with_store(args, job)


def agents_token(args: argparse.Namespace) -> int:
    async def job(store: Any, cfg: config_mod.ServerConfig) -> int:
        from server.api.agents import issue_enroll_token
        rec, token = await issue_enroll_token(store, "cli", args.ttl or cfg.enroll_token_ttl)
        print(token)
        print(f"id {rec.id}, one use, expires {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(rec.expires_at))}",
              file=sys.stderr)
        return 0
    return _with_store(args, job)


def agents_list(args: argparse.Namespace) -> int:
    async def job(store: Any, cfg: config_mod.ServerConfig) -> int:
        from server.api.agents import agent_json
        now = time.time()
        for a in await store.list_agents():
            d = agent_json(a, cfg.offline_after, now)
            print(f"{d['id']}\t{d['hostname']}\t{d['state']}\t{d['version']}\tspool={d['spool_depth']}")
        return 0
    return _with_store(args, job)


def agents_tokens(args: argparse.Namespace) -> int:
    async def job(store: Any, cfg: config_mod.ServerConfig) -> int:
        from server.api.agents import token_json
        now = time.time()
        for t in await store.list_enroll_tokens():
            d = token_json(t, now)
            print(f"{d['id']}\t{d['state']}\tby {d['created_by']}\tused_by={d['used_by']}")
        return 0
    return _with_store(args, job)


def agents_revoke(args: argparse.Namespace) -> int:
    async def job(store: Any, cfg: config_mod.ServerConfig) -> int:
        if not await store.revoke_agent(args.agent_id, time.time()):
            print(f"leakwarden: no unrevoked agent {args.agent_id}", file=sys.stderr)
            return 1
        await store.add_audit("cli", "agent.revoke", "agent", args.agent_id, {}, time.time())
        print(f"revoked {args.agent_id}")
        return 0
    return _with_store(args, job)


def agents_revoke_token(args: argparse.Namespace) -> int:
    async def job(store: Any, cfg: config_mod.ServerConfig) -> int:
        if not await store.revoke_enroll_token(args.token_id, time.time()):
            print(f"leakwarden: no unrevoked token {args.token_id}", file=sys.stderr)
            return 1
        print(f"revoked token {args.token_id}")
        return 0
    return _with_store(args, job)


def ssl_context(cfg: config_mod.ServerConfig) -> ssl.SSLContext | None:
    if cfg.tls_cert is None or cfg.tls_key is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cfg.tls_cert), str(cfg.tls_key))
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(cfg.source, "tls.cert", f"cannot load certificate/key: {e}") from e
    return ctx


def run_server(args: argparse.Namespace) -> int:
    from aiohttp import web

    from server import logs
    from server.app import create_app
    try:
        cfg = _load(args)
        logs.setup(cfg.log_level)
        config_mod.check_start(cfg)
        tls = ssl_context(cfg)
        listener = bind(cfg)  # before the store opens: a taken port stops the start with its key named
        app = create_app(cfg)
    except ConfigError as e:
        print(f"leakwarden: {e}", file=sys.stderr)
        return 2
    except LeakWardenError as e:
        print(f"leakwarden: {e}", file=sys.stderr)
        return 1
    scheme = "https" if tls else "http"
    log.info("collector starting", extra={"url": f"{scheme}://{cfg.host}:{cfg.port}",
                                          "store": "postgresql" if cfg.database else str(cfg.sqlite_path)})
    # run_app stops accepting on SIGINT/SIGTERM, lets in-flight requests finish (shutdown_timeout),
    # then runs the cleanup contexts: background tasks stop, the store closes last.
    try:
        web.run_app(app, sock=listener, ssl_context=tls, print=None, shutdown_timeout=15,
                    access_log=None, handle_signals=True)
    except ConfigError as e:  # e.g. the store's start-up (migrations) refusing the configured database
        print(f"leakwarden: {e}", file=sys.stderr)
        return 2
    except StoreError as e:
        print(f"leakwarden: {e}", file=sys.stderr)
        return 1
    log.info("collector stopped")
    return 0


def bind(cfg: config_mod.ServerConfig) -> socket.socket:
    """The listening socket for ``listen.host``/``listen.port``; failures are ConfigErrors naming the key."""
    try:
        infos = socket.getaddrinfo(cfg.host, cfg.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        raise ConfigError(cfg.source, "listen.host", f"cannot resolve {cfg.host!r}: {e}") from e
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as e:
        sock.close()
        key = "listen.host" if e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) else "listen.port"
        raise ConfigError(cfg.source, key, f"cannot listen on {cfg.host}:{cfg.port}: {e.strerror or e}") from e
    sock.setblocking(False)
    return sock
