"""``leakwarden agent [--config FILE]``: run the endpoint agent."""

from __future__ import annotations

import argparse
import sys

DEFAULT_CONFIG = "configs/agent.yaml"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("agent", help="run the endpoint agent (file, device and network monitors)")
    p.add_argument("--config", default=DEFAULT_CONFIG, help=f"agent configuration (default {DEFAULT_CONFIG})")
    p.add_argument("--check", action="store_true", help="validate the configuration and exit")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    signals = None
    if not args.check:
        from agent.signals import SignalQueue

        signals = SignalQueue().install()  # first: a signal during start-up waits for it, not kills it
    from agent.config import load_config, missing_roots
    from agent.logs import setup_logging
    from leakwarden.errors import LeakWardenError

    try:
        cfg = load_config(args.config)
        if args.check:
            from agent.policies import load_policies

            load_policies(cfg)  # everything the agent loads, the ML model included
    except LeakWardenError as e:
        print(f"leakwarden agent: {e}", file=sys.stderr)
        return 2
    if args.check:
        for key, root in missing_roots(cfg):
            print(f"leakwarden agent: warning: {cfg.source}: {key}: {root} does not exist; "
                  f"it will be watched once it appears (looked for every {cfg.files.root_check_interval:g}s)",
                  file=sys.stderr)
        print(f"{args.config}: OK (config hash {cfg.config_hash[:12]})")
        return 0
    setup_logging(cfg.log_level, cfg.log_file)
    from agent.daemon import run

    return run(cfg, signals)
