"""The `intone author` subcommand. Light: textual is imported only when the command runs."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "author",
        help="edit a dataset in the terminal, linted as you type",
        description=(
            "Open FILE.jsonl in the authoring app. A path that does not exist starts an empty "
            "dataset; the file is created on first save."
        ),
    )
    parser.add_argument("path", metavar="FILE.jsonl")
    parser.add_argument("--config", help="config file (pyproject.toml or intone.toml)")
    parser.add_argument(
        "--review",
        metavar="DIR",
        help="open on the replies `intone probe --out DIR` wrote: rate them, pick blind A/B winners "
        "(ratings go to DIR/ratings.jsonl), and adopt a reply as a new example",
    )
    parser.set_defaults(func=cmd_author)


def cmd_author(args: argparse.Namespace) -> int:
    from pathlib import Path

    from intone.authoring.paths import check_editable
    from intone.config import load_settings

    path = Path(args.path)
    check_editable(path)  # before the screen takes over the terminal; make_app checks it too
    start = path.parent if str(path.parent) else Path.cwd()
    settings = load_settings(args.config, start=start)
    from intone.authoring.app import keymap_from, make_app

    keymap_from(settings)  # config errors before the screen takes over the terminal
    app = make_app(path, settings, review=args.review)  # a bad --review DIR exits 2 before the screen
    app.run()
    return 0 if app.return_code in (None, 0) else 1
