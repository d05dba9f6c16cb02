#!/usr/bin/env bash
# `make demo`: the main job on the bundled data, step by step, as a user would run it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step intone lint data/persona.jsonl --eval data/eval.jsonl
$BIN/intone lint data/persona.jsonl --eval data/eval.jsonl

step intone lint data/flawed/role-order.jsonl "  # a file with problems (exit 1 expected)"
$BIN/intone lint data/flawed/role-order.jsonl || echo "(exit $?)"

if $BIN/intone stats --help >/dev/null 2>&1; then
  step intone stats data/persona.jsonl --html runs/demo/stats.html
  mkdir -p runs/demo
  $BIN/intone stats data/persona.jsonl --html runs/demo/stats.html
fi
