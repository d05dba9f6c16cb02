"""The figures `intone stats` reports for one file: counts, lengths, tags, openers, markers, style.

Computed from the one dataset profile the linter builds; the command layer prints them
(text, JSON) and `lint/report_html.py` draws them.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from intone.lint.text import histogram

TOP = 8
FREQUENT_SHARE = 0.1
"""`intone stats` lists phrases in more than this share of the answers (the rule flags 0.25)."""


def _summary(values: list[int]) -> dict[str, Any]:
    if not values:
        return {
            "count": 0,
            "min": None,
            "p10": None,
            "median": None,
            "mean": None,
            "p90": None,
            "max": None,
            "cv": None,
        }
    s = sorted(values)
    n = len(s)
    mean = sum(s) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in s) / (n - 1)) if n > 1 else 0.0
    return {
        "count": n,
        "min": s[0],
        "p10": s[int(0.1 * (n - 1))],
        "median": _num(s[(n - 1) // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2),
        "mean": round(mean, 1),
        "p90": s[int(0.9 * (n - 1))],
        "max": s[-1],
        "cv": round(sd / mean, 3) if mean else None,
    }


def phrase_share(found: dict[str, Any]) -> str:
    """One frequent phrase for a person: "'phrase' is in 12 of 40 answers (30.0%); lines 3, 9, ..."."""
    lines = found["lines"]
    shown_lines = ", ".join(map(str, lines[:8])) + (", …" if len(lines) > 8 else "")
    return f"'{found['phrase']}' is in {found['answers']} of {found['judged']} answers ({100 * found['share']:.1f}%); " \
        f"lines {shown_lines}"


def shown(value: Any, missing: str = "n/a") -> str:
    """A figure for a person: `missing` where there is none (no answers, a zero mean), never "None"."""
    return missing if value is None else str(value)


def _num(x: float) -> int | float:
    """An int when whole, else one decimal: keeps the JSON and the text tidy."""
    return int(x) if float(x).is_integer() else round(x, 1)


def _edge_table(edges: list[tuple[str, ...]], total: int, *, end: bool = False) -> list[dict[str, Any]]:
    """Most common first (or, with `end`, last) one to three words, with their share."""
    counts: Counter[str] = Counter()
    for words in edges:
        for n in range(1, min(3, len(words)) + 1):
            counts[" ".join(words[-n:] if end else words[:n])] += 1
    if not total:
        return []
    return [{"phrase": p, "answers": c, "share": round(c / total, 3)} for p, c in counts.most_common(TOP)]


def collect(path: Path, settings, counter=None) -> dict[str, Any]:
    """Everything `intone stats` shows, as plain JSON-ready data."""
    from intone.lint.context import LintContext
    from intone.lint.profile import DatasetProfile
    from intone.lint.rules.catchphrase import CatchphraseImbalance
    from intone.lint.rules.style_drift import StyleDrift
    from intone.lint.tokens import TiktokenCounter
    from intone.schemas.jsonl import read_jsonl

    counter = counter or TiktokenCounter()
    profile = DatasetProfile(path=str(path))
    invalid_lines: list[int] = []
    conversation_tokens: list[int] = []
    user_texts: list[str] = []
    n_lines = 0
    with open(path, "rb", buffering=1 << 20) as stream:
        for line in read_jsonl(stream):
            n_lines = line.number
            if line.record is None:
                if line.problems and any(p.name != "blank-line" for p in line.problems):
                    invalid_lines.append(line.number)
                continue
            profile.add(line)
            messages = [(m.role, m.content) for m in line.record.messages]
            conversation_tokens.append(counter.count_conversation(messages))
            user_texts.extend(c for r, c in messages if r == "user")
    profile.n_lines = n_lines
    examples = profile.examples
    answers = profile.answers()
    answer_words = profile.answer_word_lengths()
    answer_tokens = counter.count_texts([a for _l, a in answers])
    prompt_words = [ex.prompt_words for ex in examples]
    turns = Counter(sum(1 for _ in ex.answers) for ex in examples)

    by_tag: dict[str, list[int]] = {}
    for ex in examples:
        for tag in ex.tags or ("(untagged)",):
            by_tag.setdefault(tag, []).extend(ex.answer_words)
    _edge_positions, edges = profile.edges(limit=max(1, len(profile.answers())))
    total = len(edges)

    ctx = LintContext(path=str(path), settings=settings, counter=counter)
    markers = [
        {"phrase": m.phrase, "answers": m.answers, "share": round(m.share, 3), "target": list(m.target)}
        for m in CatchphraseImbalance().marker_shares(profile, settings.persona.get("markers") or {})
    ]
    frequent = [
        {"phrase": f.phrase, "answers": f.answers, "judged": f.judged, "share": round(f.share, 3), "lines": f.lines}
        for f in CatchphraseImbalance({"max-share": FREQUENT_SHARE}).frequent_phrases(profile)
    ] if total else []
    outliers = []
    drift = None
    style_rule = StyleDrift()
    for d in style_rule.check_dataset(profile, ctx):
        if d.line is None:
            drift = d.message
        else:
            outliers.append({"line": d.line, "message": d.message})

    return {
        "path": str(path),
        "tokenizer": counter.name,
        "counts": {
            "lines": n_lines,
            "records": len(examples),
            "invalid_lines": len(invalid_lines),
            "with_system": sum(1 for ex in examples if ex.has_system),
            "single_turn": turns.get(1, 0),
            "multi_turn": sum(c for k, c in turns.items() if k > 1),
            "user_turns": len(user_texts),
            "assistant_turns": len(answers),
            "tags": dict(Counter(t for ex in examples for t in ex.tags).most_common()),
        },
        "tokens": {
            "total": sum(conversation_tokens),
            "answers": sum(answer_tokens),
            "per_example": _summary(conversation_tokens),
            "per_answer": _summary(answer_tokens),
        },
        "answer_words": {**_summary(answer_words), "histogram": histogram(answer_words)},
        "answer_tokens": {**_summary(answer_tokens), "histogram": histogram(answer_tokens)},
        "prompt_words": {**_summary(prompt_words), "histogram": histogram(prompt_words)},
        "answer_words_by_tag": {tag: _summary(v) for tag, v in sorted(by_tag.items())},
        "openers": _edge_table([e[0] for e in edges], total),
        "closers": _edge_table([e[1] for e in edges], total, end=True),
        "markers": markers,
        "frequent_phrases": frequent,
        "style_outliers": outliers,
        "style_drift": drift,
    }
