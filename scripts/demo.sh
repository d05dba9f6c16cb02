#!/usr/bin/env bash
# `make demo`: the main job on the bundled data, step by step, as a user would run it:
# lint, profile, a short LoRA run on the embedded Gemma 3 270M (CPU is fine), then a sample.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RUN=runs/demo
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
mkdir -p "$RUN"

step intone lint data/persona.jsonl --eval data/eval.jsonl
$BIN/intone lint data/persona.jsonl --eval data/eval.jsonl

step intone lint data/flawed/uniform-length.jsonl "   # a flawed file: exit 1 expected"
$BIN/intone lint data/flawed/uniform-length.jsonl || echo "(exit $?)"

step intone stats data/persona.jsonl --html $RUN/stats.html
$BIN/intone stats data/persona.jsonl --html $RUN/stats.html

# A short run: the default is 3 epochs (117 steps: 8 min on 2 cores with bf16, 17 min in fp32); the
# demo takes DEMO_STEPS steps (about 2.2 min with bf16). At 25 steps a bf16 run's sample stopped in
# one demo and ran to the limit in the next (bf16 runs differ slightly); at 40 it stops.
STEPS=${DEMO_STEPS:-40}
step intone train data/persona.jsonl --eval data/eval.jsonl --max-steps $STEPS --out $RUN/adapter-run
rm -rf "$RUN/adapter-run"
$BIN/intone train data/persona.jsonl --eval data/eval.jsonl --max-steps "$STEPS" --out "$RUN/adapter-run"

step intone sample $RUN/adapter-run --base --max-new-tokens 100 --prompt "Evening, Wren. What's brewing tonight?"
$BIN/intone sample "$RUN/adapter-run" --base --max-new-tokens 100 --prompt "Evening, Wren. What's brewing tonight?"

# A short probe: 4 prompts (data/probe.jsonl, some with `expect` checks), one reply each,
# measured against the training voice; --samples 3 and a --grid make the full sweep.
step intone probe $RUN/adapter-run --prompts data/probe.jsonl --samples 1 --grid max-new-tokens=100 --out $RUN/probe --html $RUN/probe.html
rm -rf "$RUN/probe"
$BIN/intone probe "$RUN/adapter-run" --prompts data/probe.jsonl --samples 1 --grid max-new-tokens=100 \
  --out "$RUN/probe" --html "$RUN/probe.html"

printf '\nThe run folder %s/adapter-run holds adapter/, loss.png, metrics.jsonl and manifest.json;\n' "$RUN"
printf 'the stats report is %s/stats.html, the probe report %s/probe.html. Chat with the adapter: .venv/bin/intone chat %s/adapter-run\n' "$RUN" "$RUN" "$RUN"
printf 'Check the voice of a full default run: .venv/bin/python bench/voice_check.py\n'
