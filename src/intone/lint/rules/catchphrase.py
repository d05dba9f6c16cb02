"""catchphrase-imbalance: a phrase in too many answers, or a declared marker in too few or too many."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from intone.lint.registry import DatasetRule, Option
from intone.lint.stats import evenly_spaced
from intone.lint.text import line_list, percent, phrase_key
from intone.lint.wordlists import NGRAM_STOPWORDS

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.stats import DatasetProfile


@dataclass(frozen=True)
class MarkerShare:
    """How often one declared marker phrase occurs in the answers."""

    phrase: str
    target: tuple[float, float]
    answers: int
    """Answers (of those judged) that contain it."""
    judged: int
    """Answers looked at: all of them, or an evenly spaced sample."""
    total: int
    lines: list[int]

    @property
    def share(self) -> float:
        return self.answers / self.judged if self.judged else 0.0


class CatchphraseImbalance(DatasetRule):
    """
    ## What it does
    With markers declared in config, reports each marker whose share of answers (case and
    punctuation ignored) is outside its target range:

    ```toml
    [tool.intone.persona]
    markers = {"that's a tricky one" = [0.05, 0.30]}
    ```

    Without markers, reports word n-grams (`min-n` to 6 words, not made only of common
    function words) that appear in more than `max-share` of the answers. Phrases that mostly
    open or close answers are left to `repeated-opener` and `repeated-closer`. Files with more
    than 2,000 answers are judged on an evenly spaced sample of 2,000.

    ## Why is this bad?
    A catchphrase in half the answers becomes a tic the fine-tuned model repeats in every
    reply; one that appears in 1 of 111 answers will never be learned at all.

    ## Example
    "mark my words, barnacles and biscuits" in 63 of 140 answers.

    ## Use instead
    Keep each signature phrase to a deliberate share of the answers, and declare it as a
    marker so its share is checked.

    ## Options
    - `max-share` (float, default 0.25): without markers, flag an n-gram in more than this share.
    - `min-n` (int, default 3): shortest n-gram, in words, considered without markers.
    - `min-answers` (int, default 20): fewest answers needed to judge.
    """

    code = "IN430"
    name = "catchphrase-imbalance"
    severity = "warning"
    summary = "A phrase is in too many answers, or a declared marker in too few or too many"
    fix_hint = "Keep each signature phrase to a deliberate share of the answers."
    options = (
        Option("max-share", 0.25, "Without markers, flag an n-gram in more than this share of answers.", low=0, high=1),
        Option("min-n", 3, "Shortest n-gram (in words) considered without markers.", low=1),
        Option("min-answers", 20, "Fewest answers needed to judge.", low=2),
    )
    SAMPLE = 2000
    MAX_N = 6

    def marker_shares(self, profile: DatasetProfile, markers: dict[str, list[float]]) -> list[MarkerShare]:
        """Each declared marker's share of the answers (an evenly spaced sample of at most
        SAMPLE): what this rule judges, and what `intone stats` shows."""
        from intone.errors import ConfigError

        answers = profile.answers()
        positions = evenly_spaced(len(answers), self.SAMPLE)
        texts = [phrase_key(answers[i][1]) for i in positions]
        shares = []
        for phrase, target in markers.items():
            needle = phrase_key(phrase)
            if not needle.strip():
                raise ConfigError(f"[tool.intone.persona] markers: {phrase!r} has no words to count; write the phrase")
            hits = [positions[k] for k, t in enumerate(texts) if needle in t]
            lines = sorted({answers[i][0] for i in hits})
            shares.append(MarkerShare(phrase, (target[0], target[1]), len(hits), len(texts), len(answers), lines))
        return shares

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        answers = profile.answers()
        if len(answers) < self.opt["min-answers"]:
            return
        positions = evenly_spaced(len(answers), self.SAMPLE)
        sample_note = "" if len(positions) == len(answers) else f" (sample of {len(positions)})"
        markers = ctx.settings.persona.get("markers")
        if markers:  # checked when the settings were read (intone.config.check_persona)
            for found in self.marker_shares(profile, markers):
                phrase, share, lines = found.phrase, found.share, found.lines
                lo, hi = found.target
                if lo <= share <= hi:
                    continue
                where = f"; lines {line_list(lines)}" if lines else ""
                yield self.diagnostic(
                    ctx.path,
                    None,
                    f"marker '{phrase}' is in {found.answers} of {found.judged} answers{sample_note} "
                    f"({100 * share:.1f}%), target {percent(lo)}–{percent(hi)}{where}",
                    fix=(
                        f"Work '{phrase}' into more answers where it fits."
                        if share < lo
                        else f"Cut '{phrase}' from some answers."
                    ),
                    related=lines[:50],
                )
            return
        for found in self.frequent_phrases(profile):
            phrase = found.phrase
            yield self.diagnostic(
                ctx.path,
                None,
                f"'{phrase}' is in {found.answers} of {found.judged} answers{sample_note} "
                f"({percent(found.share)}, flag > {percent(self.opt['max-share'])}); "
                f"lines {line_list(found.lines)}",
                fix=(
                    f"Cut '{phrase}' from most answers, or declare it as a marker with its target "
                    "share in [tool.intone.persona] markers."
                ),
                related=found.lines[:50],
            )

    def frequent_phrases(self, profile: DatasetProfile) -> list[MarkerShare]:
        """Maximal word n-grams (min-n to MAX_N words, not only function words) in more than
        max-share of the answers, most frequent first, openers and closers left out: what this
        rule reports without markers, and what `intone stats` lists."""
        answers = profile.answers()
        positions = evenly_spaced(len(answers), self.SAMPLE)
        texts = [phrase_key(answers[i][1]) for i in positions]
        found: list[MarkerShare] = []
        limit = max(self.opt["max-share"] * len(texts), 2)  # and in at least 3 answers
        min_n = max(1, self.opt["min-n"])
        doc_freq: Counter[tuple[str, ...]] = Counter()
        edge_freq: Counter[tuple[str, ...]] = Counter()
        split_texts = [t.split() for t in texts]
        for ws in split_texts:
            doc_freq.update({tuple(ws[i : i + min_n]) for i in range(len(ws) - min_n + 1)})
        # A longer phrase over the limit has every shorter piece over it: extend only those.
        frequent = {g for g, c in doc_freq.items() if c > limit}
        for n in range(min_n + 1, self.MAX_N + 1):
            if not frequent:
                break
            grams: Counter[tuple[str, ...]] = Counter()
            for ws in split_texts:
                grams.update(
                    {
                        tuple(ws[i : i + n])
                        for i in range(len(ws) - n + 1)
                        if tuple(ws[i : i + n - 1]) in frequent and tuple(ws[i + 1 : i + n]) in frequent
                    }
                )
            frequent = {g for g, c in grams.items() if c > limit}
            doc_freq.update({g: grams[g] for g in frequent})
        over = [g for g, c in doc_freq.items() if c > limit and not all(w in NGRAM_STOPWORDS for w in g)]
        if not over:
            return found
        # Only maximal phrases: drop an n-gram inside a longer reported one with nearly its count.
        over.sort(key=lambda g: (-len(g), -doc_freq[g]))
        kept: list[tuple[str, ...]] = []
        for g in over:
            joined = " " + " ".join(g) + " "
            if any(joined in " " + " ".join(k) + " " and doc_freq[k] >= 0.8 * doc_freq[g] for k in kept):
                continue
            kept.append(g)
        for g in sorted(kept, key=lambda g: -doc_freq[g]):
            needle = " " + " ".join(g) + " "
            for text in texts:
                if text.startswith(needle) or text.endswith(needle):
                    edge_freq[g] += 1
            if edge_freq[g] >= 0.8 * doc_freq[g]:
                continue  # an opener or closer: repeated-opener/closer report it
            hits = [positions[k] for k, t in enumerate(texts) if needle in t]
            lines = sorted({answers[i][0] for i in hits})
            found.append(MarkerShare(" ".join(g), (0.0, self.opt["max-share"]), len(hits), len(texts), len(answers),
                                     lines))
        return found
