"""The train commands register without importing torch, transformers or peft (lint stays fast)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import intone.commands.train, intone.train.template, intone.train.config, intone.train.device
from intone.cli import build_parser
parser = build_parser()
parser.parse_args(["train", "--help"]) if False else None
heavy = sorted(m for m in ("torch", "transformers", "peft", "textual") if m in sys.modules)
print(",".join(heavy))
"""


def test_train_commands_do_not_import_torch():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported at startup: {out.stdout.strip()}"


def test_train_help_lists_options_without_loading_torch():
    code = (
        "import sys, contextlib, io\nfrom intone.cli import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    try: main(['train', '--help'])\n"
        "    except SystemExit: pass\n"
        "print('torch' in sys.modules, '--lora-r' in buf.getvalue(), '--drop-long' in buf.getvalue())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]
