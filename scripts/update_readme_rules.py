"""Regenerate README.md's rule table from `intone rules --format markdown`."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

from intone.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"

buf = io.StringIO()
with redirect_stdout(buf):
    main(["rules", "--format", "markdown"])
text = README.read_text("utf-8")
text = re.sub(
    r"<!-- rules:start -->\n.*?<!-- rules:end -->",
    lambda _: f"<!-- rules:start -->\n{buf.getvalue().strip()}\n<!-- rules:end -->",
    text,
    flags=re.S,
)
README.write_text(text, "utf-8")
print("README rule table updated")
