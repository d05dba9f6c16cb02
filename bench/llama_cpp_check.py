"""Run an exported GGUF in llama.cpp (through llama-cpp-python) the way a chat app would.

    python bench/llama_cpp_check.py export/adapter-run-q8_0.gguf [--prompts data/eval.jsonl]

It loads the file, checks the metadata a chat app relies on (the embedded chat template and the
end-of-turn token), then answers each prompt with `create_chat_completion`: the prompt is built
by llama.cpp from the GGUF's own template, and generation stops where llama.cpp decides it stops.
Sampling as bench/voice_check.py samples intone's own replies (temperature 0.7, top-p 0.95, top-k
64, seeds 0-2, up to 256 new tokens). It prints the first seed's replies, the share that
stopped by themselves (bar: at least 90%, voice_check's) and the tokens/s. Exit 1 on a miss,
2 when llama-cpp-python is not installed.

llama-cpp-python is not one of intone's dependencies (it compiles llama.cpp, several minutes).
Install it in a separate venv; on this project's VM the default build, which targets the CPU it
is built on (AVX512 here), crashed in llama_decode on every GGUF tried, including the source
model's own file, and an AVX2 build ran:

    python3 -m venv /tmp/llvenv
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF" \\
        /tmp/llvenv/bin/pip install llama-cpp-python
    /tmp/llvenv/bin/python bench/llama_cpp_check.py export/adapter-run-q8_0.gguf
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_BAR = 0.9


def conversations(path: Path) -> list[list[dict]]:
    """Each record's messages up to its last user turn (the reference answer left out)."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        messages = record.get("messages") or [{"role": "user", "content": record["prompt"]}]
        last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
        found.append([{"role": m["role"], "content": m["content"]} for m in messages[: last_user + 1]])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gguf", type=Path)
    parser.add_argument("--prompts", type=Path, default=ROOT / "data" / "eval.jsonl")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    try:
        from llama_cpp import Llama
    except ImportError:
        print("llama_cpp_check: llama-cpp-python is not installed; see this file's docstring for how", file=sys.stderr)
        return 2
    if not args.gguf.is_file():
        print(f"llama_cpp_check: {args.gguf}: no such file (write one with intone export-model RUN --format gguf)",
              file=sys.stderr)
        return 2
    started = time.perf_counter()
    llm = Llama(model_path=str(args.gguf), n_ctx=2048, n_threads=2, verbose=False, seed=0)
    meta = llm.metadata
    print(f"loaded {args.gguf.name} in {time.perf_counter() - started:.1f} s: architecture "
          f"{meta.get('general.architecture')}, chat template embedded: {'tokenizer.chat_template' in meta}, "
          f"end-of-turn token id {meta.get('tokenizer.ggml.eot_token_id')}")
    chats = conversations(args.prompts)
    stopped = tokens = replies = 0
    seconds = 0.0
    for seed in range(args.seeds):
        for messages in chats:
            started = time.perf_counter()
            out = llm.create_chat_completion(messages=messages, temperature=0.7, top_p=0.95, top_k=64, seed=seed,
                                             max_tokens=args.max_tokens)
            seconds += time.perf_counter() - started
            choice = out["choices"][0]
            n = out["usage"]["completion_tokens"]
            tokens += n
            replies += 1
            stopped += choice["finish_reason"] == "stop"
            if seed == 0:
                print(f"> {messages[-1]['content']}\n  {choice['message']['content'].strip()}\n"
                      f"  [{n} tokens, {'stopped' if choice['finish_reason'] == 'stop' else 'HIT THE LIMIT'}]")
    share = stopped / max(1, replies)
    print(f"\n{stopped}/{replies} replies stopped by themselves ({share:.0%}; bar >= {STOP_BAR:.0%}); "
          f"{tokens} new tokens in {seconds:.1f} s = {tokens / max(seconds, 1e-9):.1f} tokens/s (one reply at a time, 2 threads)")
    if share < STOP_BAR:
        print(f"MISSED: {share:.0%} stopped < {STOP_BAR:.0%}")
        return 1
    print("bar met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
