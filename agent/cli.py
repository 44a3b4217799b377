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
    from agent.config import load_config
    from agent.logs import setup_logging
    from leakwarden.errors import ConfigError

    try:
        cfg = load_config(args.config)
        from agent.destinations import Destinations
        from agent.devicepolicy import DevicePolicy

        if cfg.network.destinations:
            Destinations.load(cfg.network.destinations)
        if cfg.devices.policy:
            DevicePolicy.load(cfg.devices.policy)
        if cfg.detection_policy:
            from detectors.policy import load_policy

            load_policy(cfg.detection_policy)
    except ConfigError as e:
        print(f"leakwarden agent: {e}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{args.config}: OK (config hash {cfg.config_hash[:12]})")
        return 0
    setup_logging(cfg.log_level, cfg.log_file)
    from agent.daemon import run

    return run(cfg)
