"""Measures of one generated reply against the training set: the trainer's output judged by the
rules and the profile that judged its input. Pure text: no model, no torch.

Per reply:

- `loop_share`: the share of the reply's word 4-grams that repeat an earlier 4-gram of it. Prose
  almost never repeats four words in a row; a model stuck in a loop does little else. A reply
  is a loop at `LOOP_SHARE` or more.
- `distinct_n`: distinct word n-grams / all n-grams (distinct-2 for n=2): low for a reply that
  says the same thing over and over.
- `TrainingVoice.distance`: style-drift's score of the reply against the training answers'
  voice (the same masked-prose features, the same robust scale, the sum of the three strongest
  feature families' |z|, each capped at 6; style-drift reports an answer at 9 or more). A reply
  further than 90% of the training answers are from their own voice (`TrainingVoice.flag`) is
  off voice. None for a reply with fewer than `VOICE_MIN_WORDS` words of prose.
- `TrainingAnswers.nearest`: the training answers sharing most of the reply's word 3-grams
  (`similarity.shingle_hashes`, the near-duplicate rule's shingles). `overlap` is the share of
  the reply's 3-grams found in one training answer; a reply of at least `COPY_MIN_WORDS` words
  with an overlap of `COPY_OVERLAP` or more is a memorised copy.
- `reply_findings`: what the per-record voice rules (assistant-boilerplate, template-leak) say
  about the reply, and `opener_findings`: what repeated-opener and repeated-closer say about a
  set of replies (one setting's), the rules' own checks run on the replies.
- `Expect` / `check_expect`: a prompt's `expect` (`{"mention": [...], "avoid": [...],
  "words": [lo, hi]}`), matched on word boundaries, case and punctuation ignored.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from intone.lint.text import phrase_key, word_count, words

if TYPE_CHECKING:
    from intone.config import Settings
    from intone.lint.profile import DatasetProfile

LOOP_N = 4
LOOP_SHARE = 0.2
"""A reply with at least this share of repeated word 4-grams is a loop."""
COPY_OVERLAP = 0.6
"""A reply sharing at least this share of its word 3-grams with one training answer is a copy."""
COPY_MIN_WORDS = 8
"""Shorter replies are never copies (short replies resemble each other naturally; the
near-duplicate rule's `min-words`)."""
VOICE_MIN_WORDS = 12
"""Replies with fewer words of prose get no voice distance (style-drift's reference minimum)."""
REPLY_RULES = ("assistant-boilerplate", "template-leak")
SET_RULES = ("repeated-opener", "repeated-closer")


# ---------------------------------------------------------------------------- loops and variety


def ngrams(ws: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)]


def loop_share(text: str, n: int = LOOP_N) -> float:
    """Share of the word n-grams that repeat an earlier one (0.0 with fewer than n words)."""
    grams = ngrams(words(text), n)
    if not grams:
        return 0.0
    return (len(grams) - len(set(grams))) / len(grams)


def distinct_n(text: str, n: int = 2) -> float:
    """Distinct word n-grams / all word n-grams; 1.0 for a reply too short to have any (nothing
    repeats), 0.0 for an empty one."""
    ws = words(text)
    if not ws:
        return 0.0
    grams = ngrams(ws, n)
    return len(set(grams)) / len(grams) if grams else 1.0


# ---------------------------------------------------------------------------- expect


@dataclass(frozen=True)
class Expect:
    """A prompt's expectations: phrases to mention, phrases to avoid, a word range."""

    mention: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    words: tuple[int, int] | None = None

    @classmethod
    def parse(cls, value: Any) -> Expect:
        """From a record's `expect` object; ValueError with what is wrong."""
        shape = 'expected {"mention": ["..."], "avoid": ["..."], "words": [lo, hi]}'
        if not isinstance(value, dict):
            raise ValueError(f"expect: {shape}, found {type(value).__name__}")  # noqa: TRY004 (one error type for callers)
        unknown = sorted(set(value) - {"mention", "avoid", "words"})
        if unknown:
            raise ValueError(f"expect: unknown key {unknown[0]!r}; {shape}")
        lists = {}
        for key in ("mention", "avoid"):
            items = value.get(key, [])
            if isinstance(items, str):
                items = [items]
            if not isinstance(items, list) or not all(isinstance(i, str) and words(i) for i in items):
                raise ValueError(f"expect.{key}: expected a list of phrases (strings with words), found {items!r}")
            lists[key] = tuple(items)
        band = value.get("words")
        if band is not None:
            ok = (
                isinstance(band, list)
                and len(band) == 2
                and all(isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in band)
                and band[0] <= band[1]
            )
            if not ok:
                raise ValueError(f"expect.words: expected [lo, hi], whole numbers with lo <= hi, found {band!r}")
            band = (band[0], band[1])
        return cls(lists["mention"], lists["avoid"], band)

    @property
    def empty(self) -> bool:
        return not self.mention and not self.avoid and self.words is None


def check_expect(text: str, expect: Expect | None) -> tuple[bool | None, list[str]]:
    """(passed, what failed, in words); passed is None when nothing is expected."""
    if expect is None or expect.empty:
        return None, []
    key = phrase_key(text)
    failed = [f"does not mention '{p}'" for p in expect.mention if phrase_key(p) not in key]
    failed += [f"mentions '{p}'" for p in expect.avoid if phrase_key(p) in key]
    if expect.words is not None:
        n = word_count(text)
        lo, hi = expect.words
        if not lo <= n <= hi:
            failed.append(f"{n} words, expected {lo}–{hi}")
    return not failed, failed


# ---------------------------------------------------------------------------- voice


class TrainingVoice:
    """The training answers' voice, fitted the way style-drift fits it, to score replies."""

    def __init__(self, profile: DatasetProfile) -> None:
        from intone.lint.rules.style_drift import StyleDrift
        from intone.lint.style import FunctionWords, RobustScale

        self.rule = StyleDrift()
        styles = profile.styles().styles
        reference = [s for s in styles if s.words >= StyleDrift.REF_MIN_WORDS]
        self.ready = len(reference) >= 2
        self.training: list[float] = []
        if not self.ready:
            return
        self.function_words = FunctionWords.fit(reference)
        self.function_words.fill(reference)
        # As style-drift does: fit, set aside answers that already look foreign, refit on the rest.
        first = RobustScale.fit(reference, flag_share=False)
        limit = 0.6 * self.rule.opt["min-score"]
        typical = [s for s in reference if self.rule._score(first.z(s))[0] < limit]
        self.scale = RobustScale.fit(typical if len(typical) >= 2 else reference, spread=reference)
        self.scale.adopt_flags(RobustScale.fit(reference))
        self.training = sorted(self._score(s) for s in reference)

    def _score(self, style) -> float:
        return self.rule._score(self.scale.z(style))[0]

    def distance(self, text: str) -> float | None:
        """The reply's style-drift score against the training voice (None: too little prose)."""
        return self.judge(text)[0]

    def judge(self, text: str, rule=None) -> tuple[float | None, bool]:
        """(`distance`, whether style-drift would report this text: `rule` as configured, else
        its defaults: `min-words` of prose, `min-features` families past `min-z`, `min-score`)."""
        from intone.lint.style import answer_style

        if not self.ready:
            return None, False
        style = answer_style(text)
        if style.words < VOICE_MIN_WORDS:
            return None, False
        rule = rule or self.rule
        self.function_words.fill([style])
        score, deviating = rule._score(self.scale.z(style))
        drifts = (style.words >= rule.opt["min-words"] and len(deviating) >= rule.opt["min-features"]
                  and score >= rule.opt["min-score"])
        return round(score, 3), drifts

    def training_quantile(self, q: float) -> float | None:
        """A quantile of the training answers' own distances from their voice: where "in voice" is."""
        from intone.lint.text import quantile

        return round(quantile(self.training, q), 3) if self.training else None

    @property
    def training_median(self) -> float | None:
        return self.training_quantile(0.5)

    @property
    def flag(self) -> float | None:
        """A reply further than 90% of the training answers are is off voice."""
        return self.training_quantile(0.9)


def gap_closed(base: float | None, tuned: float | None, training: float | None) -> float | None:
    """The share of the base model's voice gap (base median distance minus the training answers'
    own) that the tuned model closed: 1.0 in the training voice, 0.0 no better than base,
    negative further off. None when a figure is missing or base is already in voice."""
    if base is None or tuned is None or training is None or base - training < 0.5:
        return None
    return round((base - tuned) / (base - training), 3)


# ---------------------------------------------------------------------------- copies


@dataclass
class Near:
    line: int
    overlap: float
    answer: str


class TrainingAnswers:
    """An inverted index of the training answers' word 3-grams, for a reply's nearest answers."""

    def __init__(self, profile: DatasetProfile) -> None:
        from intone.lint.similarity import shingle_hashes

        answers = profile.answers()
        keep = profile.distinct_answers()
        self.answers = [answers[i] for i in keep]
        hashes, offsets = shingle_hashes([text for _line, text in self.answers])
        self.postings: dict[int, list[int]] = {}
        for i in range(len(self.answers)):
            for h in set(hashes[offsets[i] : offsets[i + 1]].tolist()):
                self.postings.setdefault(h, []).append(i)

    def nearest(self, text: str, k: int = 3) -> list[Near]:
        """Up to k training answers sharing the most of the reply's word 3-grams, most first."""
        from intone.lint.similarity import shingle_hashes

        hashes, _offsets = shingle_hashes([text])
        mine = set(hashes.tolist())
        if not mine:
            return []
        shared: Counter[int] = Counter()
        for h in mine:
            shared.update(self.postings.get(h, ()))
        best = sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [Near(self.answers[i][0], round(c / len(mine), 3), self.answers[i][1]) for i, c in best]


def is_copy(text: str, nearest: Sequence[Near]) -> bool:
    return bool(nearest) and nearest[0].overlap >= COPY_OVERLAP and word_count(text) >= COPY_MIN_WORDS


# ---------------------------------------------------------------------------- rule findings


@dataclass
class ReplyRules:
    """The selected voice rules, configured as `intone lint` configures them."""

    settings: Settings | None = None
    display: str = "probe"
    record: list[Any] = field(default_factory=list)
    dataset: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        from intone.lint.engine import Linter

        linter = Linter(self.settings)
        rules = linter.rules_for(self.display)
        self.record = [r for r in rules if r.name in REPLY_RULES]
        self.dataset = [r for r in rules if r.name in SET_RULES]
        self.linter = linter


def _reply_line(number: int, reply: str, prompt: str = "Hello"):
    """A one-turn record holding the reply, as the rules read a line."""
    from intone.schemas.jsonl import Line, validate_line

    data = {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]}
    line = Line(number=number, raw=json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass"),
                ending=b"\n", data=data)
    validate_line(line)
    return line


_PREFIX = "messages[1].content: "


def reply_findings(rules: ReplyRules, reply: str) -> list[dict[str, str]]:
    """{"code", "name", "message"} of the per-record voice rules on the reply."""
    from intone.lint.context import LintContext

    if not reply.strip():
        return []
    line = _reply_line(1, reply)
    if line.record is None:
        return []
    ctx = LintContext(path=rules.display, settings=rules.linter.settings, counter=rules.linter.counter)
    out = []
    for rule in rules.record:
        for d in rule.check(line, ctx):
            message = d.message.replace(_PREFIX, "")
            out.append({"code": d.code, "name": d.name, "message": message})
    return out


def opener_findings(rules: ReplyRules, replies: Sequence[str]) -> tuple[list[dict[str, str]], dict[int, list[dict]]]:
    """repeated-opener and repeated-closer run on a set of replies as if they were a dataset:
    (the findings, {reply index: the findings that name it})."""
    from intone.lint.context import LintContext
    from intone.lint.profile import DatasetProfile

    profile = DatasetProfile(path=rules.display)
    for i, reply in enumerate(replies):
        if reply.strip():
            line = _reply_line(i + 1, reply)
            if line.record is not None:
                profile.add(line)
    ctx = LintContext(path=rules.display, settings=rules.linter.settings, counter=rules.linter.counter)
    found: list[dict[str, str]] = []
    per_reply: dict[int, list[dict]] = {}
    for rule in rules.dataset:
        for d in rule.check_dataset(profile, ctx):
            message = _replies_message(d.message)
            item = {"code": d.code, "name": d.name, "message": message}
            found.append(item)
            for number in d.related:
                per_reply.setdefault(number - 1, []).append(item)
    return found, per_reply


def _replies_message(message: str) -> str:
    """A dataset message read on replies: answers are replies, and its line list is dropped."""
    cut = message.split("; lines ")[0]
    return cut.replace(" answers", " replies")


def word_lengths(texts: Iterable[str]) -> list[int]:
    return [word_count(t) for t in texts]
