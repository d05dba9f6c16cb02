"""The `intone` command. Parses arguments and dispatches; heavy modules load only when used.

Exit codes follow ruff: 0 clean, 1 findings at or above --fail-on, 2 usage/config/I-O error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from intone import __version__
from intone.commands.common import discard_stdout
from intone.errors import EXIT_ERROR, EXIT_OK, ConfigError, UsageError

# One module per command family under intone/commands/; each has `register(subparsers)`.
_COMMAND_MODULES = (
    "intone.commands.lint",
    "intone.commands.stats",
    "intone.commands.train",
    "intone.commands.sample",
    "intone.commands.probe",
    "intone.commands.export_model",
    "intone.commands.author",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    code = EXIT_OK
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # here rather than at exit, so that a reader gone away is handled below
        return code
    except KeyboardInterrupt:
        print("intone: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader stopped early (`| head`). Keep the exit code the command arrived at (lint
        # returns its findings' code itself), so that `set -o pipefail` still sees failures.
        discard_stdout()
        return code
    except Exception as exc:
        from intone.lint.printable import printable

        if isinstance(exc, (UsageError, ConfigError)):
            print(f"intone: error: {printable(str(exc), multiline=True)}", file=sys.stderr)
        elif isinstance(exc, OSError):
            where = f"{printable(str(exc.filename))}: " if exc.filename else ""
            print(f"intone: error: {where}{exc.strerror or exc}", file=sys.stderr)
        else:
            if os.environ.get("INTONE_DEBUG"):
                raise
            print(
                f"intone: internal error: {type(exc).__name__}: {exc}\n"
                "Run again with INTONE_DEBUG=1 for the traceback, and please report it.",
                file=sys.stderr,
            )
        return EXIT_ERROR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intone",
        description="Write, lint and train small character-voice fine-tuning datasets.",
    )
    parser.add_argument("--version", action="version", version=f"intone {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name and not name.startswith(f"{exc.name}."):
                raise  # a missing parent package (intone.train) is absent too; anything else is a bug
            continue
        module.register(sub)
    return parser


QUICK_EXIT = {"lint"}
"""Commands after which the console script exits without the interpreter's teardown: a lint of
a large file holds a million small objects, and freeing them one by one at exit took a tenth of
its time. (They write nothing after returning; other commands may have threads to finish.)"""


def run() -> None:
    """The `intone` console script: `main`, then the exit."""
    argv = sys.argv[1:]
    code = main(argv)
    if argv[:1] and argv[0] in QUICK_EXIT:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):
            discard_stdout()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
