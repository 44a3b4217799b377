"""The ``leakwarden`` command: dispatches to subcommands that live beside what they run.

Each entry names a module with ``add_parser(subparsers)``; the module's parser
sets ``func`` to the function that runs it. Modules are imported only when
needed, so ``leakwarden scan`` does not pay for the server's imports.

Exit status 1 means "findings" to ``leakwarden scan``'s callers, so nothing
else may end with 1: a LeakWardenError (bad config, unreadable key ...) is one
line on stderr and status 2; an unexpected exception is a short message and
status 2 (the traceback with ``--debug`` or ``LEAKWARDEN_DEBUG=1``); a closed
output pipe (``leakwarden scan ... | head``) ends quietly with 141, the status
of a command killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from leakwarden import __version__
from leakwarden.errors import LeakWardenError

#: exit status after the output pipe was closed (128 + SIGPIPE, as the shell shows a killed grep)
EXIT_PIPE_CLOSED = 141

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
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an unexpected error (also LEAKWARDEN_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    first = next((a for a in argv if not a.startswith("-")), None)  # the command, after --debug etc.
    wanted = first if first in SUBCOMMANDS else None
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
    debug = os.environ.get("LEAKWARDEN_DEBUG", "") not in ("", "0")
    prog = "leakwarden"
    try:  # building the parser imports the subcommand's module: its failures count too
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        debug = debug or args.debug
        prog = f"leakwarden {args.command}" if getattr(args, "command", None) else prog
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE_CLOSED
    except KeyboardInterrupt:
        return 130
    except LeakWardenError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - rc 1 would read as "findings"
        if debug:
            traceback.print_exc()
        msg = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
        print(f"{prog}: internal error: {type(e).__name__}{': ' + msg if msg else ''}"
              + ("" if debug else " (run with --debug or LEAKWARDEN_DEBUG=1 for details)"), file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """The reader went away: drop what is still buffered instead of failing
    again (with a traceback) when Python flushes stdout at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
