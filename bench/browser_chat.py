"""Browser bench: the ONNX export's chat page in headless Chromium, one prompt, tokens/s.

    .venv/bin/intone merge runs/demo/adapter-run --out /tmp/merged
    .venv/bin/python -c "from intone.train.onnx_export import export_onnx; export_onnx('/tmp/merged', '/tmp/web')"
    .venv/bin/python bench/browser_chat.py /tmp/web

(or `intone export-model RUN_DIR --format onnx --out /tmp/web`). It serves the folder on
127.0.0.1 only (as `python -m http.server --bind 127.0.0.1 --directory DIR` would), opens
chat.html in Debian's chromium (`apt-get install -y chromium`), sends the prompt, and prints what
the page measured. Bars: a non-empty reply, and at least --min-tokens-per-second.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from intone.train.chat_page import BrowserError, Chromium, chromium_binary, serve_folder
from intone.train.onnx_export import VARIANT_FILES

MB = 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="an ONNX export (with chat.html and web/)")
    parser.add_argument("--prompt", default="Hi! Who are you, in two sentences?")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, help="0 for greedy; default: the page's (intone chat's)")
    parser.add_argument("--dtype", help="load this exported variant (chat.html?dtype=...), e.g. q4; default: the page's")
    # wasm on one thread; the bar leaves room for a shared 2-core machine (load ~6 when measured)
    parser.add_argument("--min-tokens-per-second", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for loading and for the reply")
    args = parser.parse_args(argv)

    folder = args.folder
    if not (folder / "chat.html").is_file() or not (folder / "web" / "transformers.js").is_file():
        print(f"{folder}: no chat.html with web/transformers.js beside it; export with --format onnx first",
              file=sys.stderr)
        return 2
    if chromium_binary() is None:
        print("chromium is not installed (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    settings = json.loads((folder / "chat.html").read_text().split("const SETTINGS = ", 1)[1].split(";\n", 1)[0])
    dtype = args.dtype or settings["dtype"]
    if dtype not in settings["available"]:
        print(f"--dtype {dtype}: the export has {', '.join(settings['available'])}", file=sys.stderr)
        return 2
    model_file = folder / VARIANT_FILES[dtype]
    downloads = [model_file, *(folder / "web").iterdir(), *(p for p in folder.glob("*.json"))]
    print(f"page: {folder / 'chat.html'} loads {model_file.relative_to(folder)} ({model_file.stat().st_size / MB:.0f} MB); "
          f"the page downloads {sum(p.stat().st_size for p in downloads) / MB:.0f} MB in all")

    with serve_folder(folder) as base, Chromium(timeout=60) as browser:
        started = time.monotonic()
        browser.open(f"{base}chat.html?dtype={dtype}")
        try:
            browser.wait_for("window.intone && window.intone.ready", timeout=args.timeout)
        except BrowserError as error:
            print(f"the page did not load the model: {error}", file=sys.stderr)
            return 1
        loaded = time.monotonic() - started
        print(f"loaded in {loaded:.1f} s ({dtype}, wasm, {base}chat.html?dtype={dtype})")
        options = {"max_new_tokens": args.max_new_tokens}
        if args.temperature is not None:
            options["temperature"] = args.temperature
        call = f"window.intone.send({json.dumps(args.prompt)}, {json.dumps(options)})"
        reply = browser.evaluate(call, timeout=args.timeout)
        shown = browser.evaluate("document.querySelector('#log .model:last-child').textContent")

    sampling = settings["sampling"] | ({"temperature": args.temperature} if args.temperature is not None else {})
    print(f"prompt: {args.prompt!r} ({reply['prompt_tokens']} tokens); sampling {sampling}")
    print(f"reply:  {reply['reply']!r}")
    print(f"{reply['tokens']} tokens in {reply['seconds']:.2f} s: {reply['tokens_per_second']:.1f} tokens/s "
          f"(decoding after the first token: {reply['decode_tokens_per_second'] or 0:.1f} tokens/s); "
          f"stopped at <end_of_turn>: {'yes' if reply['stopped_at_end_of_turn'] else 'no'}")
    failures = []
    if not reply["reply"].strip() or shown != reply["reply"]:
        failures.append("no reply appeared in the page")
    if reply["tokens_per_second"] < args.min_tokens_per_second:
        failures.append(f"{reply['tokens_per_second']:.1f} tokens/s is under the bar of {args.min_tokens_per_second}")
    print(f"bar: a reply appears, >= {args.min_tokens_per_second} tokens/s: " + ("; ".join(failures) or "met"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
