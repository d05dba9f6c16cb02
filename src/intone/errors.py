"""The ground floor: the errors a user can cause and the exit codes. Importable from anywhere.

A package raises `UsageError` (bad input: a missing file, a bad flag combination) or
`ConfigError` (a bad setting); the command layer prints the message and exits 2. Exit codes
follow ruff: 0 clean, 1 findings at or above --fail-on, 2 usage/config/I-O error.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input from the user (missing file, bad flag combination): exit 2 with the message."""


class ConfigError(Exception):
    """A problem with configuration; the CLI prints it and exits 2."""
