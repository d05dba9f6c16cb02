"""What every command shares: settings from config and flags, and the token counter."""

from __future__ import annotations

import argparse
import os
import sys

from intone.config import Settings, settings_for
from intone.errors import UsageError


def load_settings_for(args: argparse.Namespace) -> Settings:
    """Settings for a command: the config found from its first path (or --config), then its flags."""
    flags = {name: getattr(args, name, None) for name in ("select", "ignore", "format", "fail_on", "tokenizer",
                                                           "max_tokens", "eval")}
    settings = settings_for(getattr(args, "paths", None), getattr(args, "config", None), flags,
                            no_cache=getattr(args, "no_cache", False))
    if settings.train:  # a typo there is named by every command, not only by `intone train`
        from intone.train.config import from_table

        from_table(settings.train, f"{settings.source or 'config'}: [tool.intone.train]")
    return settings


def make_counter(settings):
    """The token counter: tiktoken, or the exact one from `train/` when --tokenizer is set."""
    if not settings.tokenizer:
        return None
    try:
        from intone.train.template import load_token_counter
    except ImportError as exc:
        raise UsageError(
            f"--tokenizer needs the train extra (pip install 'intone[train]'): {exc}"
        ) from None
    try:
        return load_token_counter(settings.tokenizer)
    except (UsageError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bad id/path, a missing file, a broken tokenizer.json
        raise UsageError(
            f"--tokenizer {settings.tokenizer}: cannot load it ({exc}); give a local model folder, "
            "a .gguf file, a cached hub id, or 'embedded'"
        ) from None


def discard_stdout() -> None:
    """After a BrokenPipeError: point stdout at /dev/null, so that flushing it again at exit does
    not fail and print "Exception ignored ... BrokenPipeError" (Python's signal docs' recipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests capture it)
        pass
