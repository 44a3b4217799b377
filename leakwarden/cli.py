"""The ``leakwarden`` command: dispatches to subcommands that live beside what they run.

Each entry names a module with ``add_parser(subparsers)``; the module's parser
sets ``func`` to the function that runs it. Modules are imported only when
needed, so ``leakwarden scan`` does not pay for the server's imports.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from leakwarden import __version__

#: subcommand name -> module providing ``add_parser``; explicit, no discovery
SUBCOMMANDS: dict[str, str] = {
    "scan": "detectors.cli",
    "train": "detectors.ml.cli",
    "evaluate": "detectors.ml.cli",
    "server": "server.cli",
    "user": "server.cli",
    "agents": "server.cli",
    "agent": "agent.cli",
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leakwarden", description="Data-leak monitoring and self-supervision.")
    parser.add_argument("--version", action="version", version=f"leakwarden {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    modules = [SUBCOMMANDS[wanted]] if wanted else list(dict.fromkeys(SUBCOMMANDS.values()))
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as e:
            if wanted:
                raise
            sub.add_parser(f"({name} unavailable: {e.name})")
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
