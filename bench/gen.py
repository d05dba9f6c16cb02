"""Deterministic synthetic datasets for the benchmarks: two-turn records, ~450 bytes each."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

WORDS = (
    "tide lantern rope harbour gull fog keeper knot anchor storm biscuit sail wave shell pebble "
    "compass starboard driftwood whistle barnacle lighthouse beacon squall current reef moon "
    "kettle blanket story tickle sunrise puddle cloud thunder ribbon button pocket marble"
).split()


def make_record(rng: random.Random, i: int) -> dict:
    prompt_len = rng.randint(4, 16)
    answer_len = rng.choice((rng.randint(3, 15), rng.randint(20, 70), rng.randint(70, 110)))
    prompt = " ".join(rng.choice(WORDS) for _ in range(prompt_len)).capitalize() + f" #{i}?"
    answer = " ".join(rng.choice(WORDS) for _ in range(answer_len)).capitalize() + "!"
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}


def write(path: Path, n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            out.write(json.dumps(make_record(rng, i), ensure_ascii=False) + "\n")
    return path


if __name__ == "__main__":
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    write(Path(sys.argv[1]), n)
