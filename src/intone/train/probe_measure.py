"""The probe's measures: one record per reply (probe.jsonl), and per setting and source the
figures of summary.json, a verdict in words, and the best setting.

summary.json keys (stable; `intone_probe` is the format version):

- `intone_probe` (1), `run`, `compare` (the --compare run or null), `prompts` {`source`,
  `count`, `with_reference`, `with_expect`}, `samples`, `seed`, `replies`, `seconds` (the
  whole command), `generation_seconds` (model loads and generation), `out` (the folder).
- `training` {`path`, `answers`, `words_p10`, `words_p90`, `median_words`,
  `voice_median`, `voice_p90` (the training answers' own voice distances: what "in voice" is)}.
- `thresholds` {`loop_share`, `copy_overlap`, `voice_flag`}: the cut-offs used below
  (`voice_flag` is the training answers' p90 voice distance).
- `settings`: one entry per setting, in grid order: `setting_id`, `setting` {temperature,
  top_p, top_k, repetition_penalty, min_new_tokens, max_new_tokens}, `best` (bool), `score`,
  `verdict`, the tuned model's figures at the top level, and `by_source` {tuned, base, compare}
  with the same figures for each source generated:
  - `replies`; `stop_rate` (share that ended at end of turn), `loop_rate` (share with
    loop_share >= thresholds.loop_share), `copy_rate` (share that copy a training answer);
  - `median_words`, `band_share` (share inside the training p10–p90 words), `ks` (two-sample
    KS distance of reply and training lengths), `length_corr` {`pearson`, `spearman`, `pairs`}
    (per prompt: reference words against the mean reply words; near 0 = a length collapse);
  - `median_voice_distance`, `in_voice_rate` (share of judged replies at or under voice_flag),
    `gap_closed` (with --base: the share of the base model's voice gap closed, 1 = as close as
    the training answers themselves, 0 = no closer than base);
  - `expect_pass_rate` (share of replies to prompts with `expect` that meet it; null if none);
  - `flagged_rate` (share with a finding), `findings` {rule name: replies}, `openers`
    (repeated-opener/-closer messages on this setting's replies), `mean_distinct2`.
- `overall` {source: the same figures over all settings}.
- `best` {`setting_id`, `setting`, `why`}: the setting with the highest score, the mean of
  stop_rate, 1 - loop_rate, 1 - copy_rate, band_share, max(0, length_corr.pearson),
  in_voice_rate and expect_pass_rate (those that are not null), for the tuned model.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from intone.lint.replies import (
    COPY_OVERLAP,
    LOOP_SHARE,
    ReplyRules,
    TrainingAnswers,
    TrainingVoice,
    check_expect,
    distinct_n,
    gap_closed,
    is_copy,
    loop_share,
    opener_findings,
    reply_findings,
)
from intone.lint.replies_stats import band, band_share, ks_distance, pearson, spearman
from intone.lint.text import percent, quantile, word_count
from intone.train.probe import Generated, setting_dict, setting_id

SOURCES = ("tuned", "base", "compare")


class Measurer:
    """The training set's figures, computed once, and the rules that judge each reply."""

    def __init__(self, profile, settings=None) -> None:
        self.profile = profile
        self.voice = TrainingVoice(profile)
        self.answers = TrainingAnswers(profile)
        self.rules = ReplyRules(settings)
        self.lengths = profile.answer_word_lengths()
        self.band = band(self.lengths)

    def training(self) -> dict[str, Any]:
        s = sorted(self.lengths)
        return {
            "path": self.profile.path, "answers": len(s),
            "words_p10": round(self.band[0], 1) if self.band else None,
            "words_p90": round(self.band[1], 1) if self.band else None,
            "median_words": quantile(s, 0.5) if s else None,
            "voice_median": self.voice.training_median,
            "voice_p90": self.voice.flag,
        }

    def record(self, g: Generated) -> dict[str, Any]:
        text = g.reply.text
        sid = setting_id(g.opts)
        nearest = self.answers.nearest(text)
        passed, failed = check_expect(text, g.prompt.expect)
        return {
            "id": f"p{g.prompt.index}-{sid}-{g.source}-s{g.sample}",
            "prompt_index": g.prompt.index,
            "where": g.prompt.where,
            "messages": [{"role": r, "content": c} for r, c in g.prompt.messages],
            "reference": g.prompt.reference,
            "source": g.source,
            "run": str(g.run),
            "setting_id": sid,
            "setting": setting_dict(g.opts),
            "sample": g.sample,
            "seed": g.seed,
            "reply": text,
            "tokens": g.reply.tokens,
            "words": word_count(text),
            "stopped": g.reply.stopped,
            "loop_share": round(loop_share(text), 3),
            "distinct2": round(distinct_n(text, 2), 3),
            "voice_distance": self.voice.distance(text),
            "findings": reply_findings(self.rules, text),
            "copy": {"overlap": nearest[0].overlap if nearest else 0.0,
                     "line": nearest[0].line if nearest and is_copy(text, nearest) else None},
            "nearest": [{"line": n.line, "overlap": n.overlap, "answer": n.answer} for n in nearest],
            "expect": {"passed": passed, "failed": failed},
        }

    def add_openers(self, records: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
        """repeated-opener/-closer on each (setting, source)'s replies; their findings are added
        to the replies they name. Returns the messages per (setting_id, source)."""
        out = {}
        for key, group in _groups(records).items():
            found, per_reply = opener_findings(self.rules, [r["reply"] for r in group])
            for i, items in per_reply.items():
                group[i]["findings"].extend(items)
            out[key] = [f["message"] for f in found]
        return out

    def figures(self, group: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The per-setting figures of one source's replies."""
        n = len(group)
        words = [r["words"] for r in group]
        by_prompt: dict[int, list[int]] = {}
        refs: dict[int, int] = {}
        for r in group:
            by_prompt.setdefault(r["prompt_index"], []).append(r["words"])
            if r["reference"] is not None:
                refs[r["prompt_index"]] = word_count(r["reference"])
        pairs = [(refs[p], statistics.fmean(ws)) for p, ws in sorted(by_prompt.items()) if p in refs]
        ref_words, mean_words = [a for a, _ in pairs], [b for _, b in pairs]
        voices = [r["voice_distance"] for r in group if r["voice_distance"] is not None]
        expected = [r["expect"]["passed"] for r in group if r["expect"]["passed"] is not None]
        flagged = Counter(f["name"] for r in group for f in {x["name"]: x for x in r["findings"]}.values())
        return {
            "replies": n,
            "stop_rate": _rate(sum(r["stopped"] for r in group), n),
            "loop_rate": _rate(sum(r["loop_share"] >= LOOP_SHARE for r in group), n),
            "copy_rate": _rate(sum(r["copy"]["line"] is not None for r in group), n),
            "median_words": statistics.median(words) if words else None,
            "band_share": _round(band_share(words, self.band)),
            "ks": _round(ks_distance(words, self.lengths)),
            "length_corr": {"pearson": _round(pearson(ref_words, mean_words)),
                            "spearman": _round(spearman(ref_words, mean_words)), "pairs": len(pairs)},
            "median_voice_distance": _round(statistics.median(voices)) if voices else None,
            "in_voice_rate": _rate(sum(v <= self.voice.flag for v in voices), len(voices)) if voices else None,
            "gap_closed": None,
            "expect_pass_rate": _rate(sum(expected), len(expected)) if expected else None,
            "flagged_rate": _rate(sum(1 for r in group if r["findings"]), n),
            "findings": dict(sorted(flagged.items())),
            "mean_distinct2": _round(statistics.fmean(r["distinct2"] for r in group)) if group else None,
        }


def _groups(records: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        out.setdefault((r["setting_id"], r["source"]), []).append(r)
    return out


def _rate(k: float, n: int) -> float | None:
    return round(k / n, 3) if n else None


def _round(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


SCORE_PARTS = ("stop_rate", "loop_rate", "copy_rate", "band_share", "length_corr", "in_voice_rate",
               "expect_pass_rate")


def score(f: dict[str, Any]) -> float:
    """The mean of the parts that are known, each in [0, 1], higher better."""
    parts = [f["stop_rate"], None if f["loop_rate"] is None else 1 - f["loop_rate"],
             None if f["copy_rate"] is None else 1 - f["copy_rate"], f["band_share"],
             None if f["length_corr"]["pearson"] is None else max(0.0, f["length_corr"]["pearson"]),
             f["in_voice_rate"], f["expect_pass_rate"]]
    known = [p for p in parts if p is not None]
    return round(sum(known) / len(known), 3) if known else 0.0


def problems(f: dict[str, Any], training: dict[str, Any]) -> list[str]:
    """What is wrong with one source's replies at one setting, worst first, with the numbers."""
    out = []
    if f["stop_rate"] is not None and f["stop_rate"] < 0.9:
        out.append(f"cut off at max-new-tokens in {percent(1 - f['stop_rate'])}")
    if f["loop_rate"]:
        out.append(f"loops in {percent(f['loop_rate'])}")
    if f["copy_rate"]:
        out.append(f"copies training answers in {percent(f['copy_rate'])}")
    corr = f["length_corr"]["pearson"]
    if corr is not None and corr < 0.3:
        out.append(f"length ignores the prompt (r {corr:.2f} with reference lengths)")
    if f["band_share"] is not None and f["band_share"] < 0.5 and training.get("words_p10") is not None:
        out.append(f"{percent(f['band_share'])} in the training band "
                   f"({training['words_p10']:.0f}–{training['words_p90']:.0f} words; median {f['median_words']:g})")
    if f["in_voice_rate"] is not None and f["in_voice_rate"] < 0.8:
        out.append(f"off voice in {percent(1 - f['in_voice_rate'])} (median distance "
                   f"{f['median_voice_distance']:.1f}, training {training.get('voice_median') or 0:.1f})")
    if f["expect_pass_rate"] is not None and f["expect_pass_rate"] < 0.8:
        out.append(f"meets expect in {percent(f['expect_pass_rate'])}")
    if f["flagged_rate"] and f["flagged_rate"] >= 0.1:
        names = ", ".join(f["findings"])
        out.append(f"{percent(f['flagged_rate'])} flagged ({names})")
    return out


def strengths(f: dict[str, Any]) -> str:
    """The figures the score is made of, in words."""
    parts = [f"stops {percent(f['stop_rate'])}", f"loops {percent(f['loop_rate'])}",
             f"copies {percent(f['copy_rate'])}"]
    if f["band_share"] is not None:
        parts.append(f"{percent(f['band_share'])} in band")
    if f["length_corr"]["pearson"] is not None:
        parts.append(f"len r {f['length_corr']['pearson']:.2f}")
    if f["in_voice_rate"] is not None:
        parts.append(f"{percent(f['in_voice_rate'])} in voice")
    if f["expect_pass_rate"] is not None:
        parts.append(f"expect {percent(f['expect_pass_rate'])}")
    return ", ".join(parts)


def verdict(f: dict[str, Any], training: dict[str, Any]) -> str:
    found = problems(f, training)
    if not found:
        return "good: no problem found"
    grade = "poor" if len(found) >= 3 or (f["stop_rate"] or 0) < 0.7 or (f["loop_rate"] or 0) >= 0.2 else "fair"
    return f"{grade}: " + "; ".join(found)


def summarize(records: list[dict[str, Any]], measurer: Measurer, settings: list, meta: dict[str, Any]
              ) -> dict[str, Any]:
    """summary.json (see the module docstring)."""
    training = measurer.training()
    openers = measurer.add_openers(records)
    groups = _groups(records)
    entries = []
    for opts in settings:
        sid = setting_id(opts)
        by_source = {}
        for source in SOURCES:
            group = groups.get((sid, source))
            if group:
                by_source[source] = measurer.figures(group)
                by_source[source]["openers"] = openers.get((sid, source), [])
        base = by_source.get("base")
        for source in ("tuned", "compare"):
            if source in by_source and base is not None:
                by_source[source]["gap_closed"] = gap_closed(
                    base["median_voice_distance"], by_source[source]["median_voice_distance"], training["voice_median"])
        tuned = by_source["tuned"]
        entry = {"setting_id": sid, "setting": setting_dict(opts), "best": False, "score": score(tuned),
                 "verdict": verdict(tuned, training), **tuned, "by_source": by_source}
        if "compare" in by_source:
            entry["compare_score"] = score(by_source["compare"])
            entry["compare_verdict"] = verdict(by_source["compare"], training)
        entries.append(entry)
    # Ties go to the setting that stops more, then to the one more often in voice.
    ranked = sorted(entries, key=lambda e: (-e["score"], -(e["stop_rate"] or 0), -(e["in_voice_rate"] or 0)))
    best = ranked[0]
    best["best"] = True
    why = f"highest score {best['score']:.3f} of {len(entries)} setting(s)"
    if len(ranked) > 1:
        why += f" (next: {ranked[1]['setting_id']} at {ranked[1]['score']:.3f})"
    why += ": " + strengths(best) + "; " + best["verdict"]
    overall = {s: measurer.figures([r for r in records if r["source"] == s])
               for s in SOURCES if any(r["source"] == s for r in records)}
    if "base" in overall:
        for s in ("tuned", "compare"):
            if s in overall:
                overall[s]["gap_closed"] = gap_closed(overall["base"]["median_voice_distance"],
                                                      overall[s]["median_voice_distance"], training["voice_median"])
    return {
        "intone_probe": 1, **meta, "replies": len(records), "training": training,
        "thresholds": {"loop_share": LOOP_SHARE, "copy_overlap": COPY_OVERLAP, "voice_flag": measurer.voice.flag},
        "settings": entries, "overall": overall,
        "best": {"setting_id": best["setting_id"], "setting": best["setting"], "why": why},
    }
