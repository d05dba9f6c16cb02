"""How the voice rules do on real public datasets, judged against ../shared/realdata/LABELS.md.

    .venv/bin/python bench/real_data.py [--realdata DIR] [--show]

LABELS.md records what a careful reader judged in four real datasets: the problems that are
true, the false alarms a rule must not raise, and what is debatable. This bench lints each file
with every default rule (and, for bluey, with the head-80 / tail-31 train/eval split LABELS.md
names), then judges each finding of the rules below by the label that covers it:

- true: a labelled problem (e.g. every answer of alchemy_docs ends with `###`: template-leak);
- false: a labelled false alarm (e.g. style-drift on caveman's TCP/UDP answer) or a finding a
  label says must not be raised (e.g. any warning of a rule on a file labelled clean for it);
- debatable: counted in neither (e.g. caveman's "Use `requests`" opener, at most info);
- unjudged: no label covers it. They are printed, to be read; they do not count.

It prints, per rule, flagged / true / false / debatable / unjudged and the precision, and per
labelled true problem whether it was found. Exit 1 when a voice rule's precision is below 0.8
or a true problem is missed. The judging rules are in LABELS below, each with the sentence of
LABELS.md it encodes; none of them names a line that the label does not name.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from intone.config import Settings
from intone.lint.diagnostic import Diagnostic
from intone.lint.engine import Linter, LintResult

VOICE_RULES = (
    "style-drift",
    "repeated-opener",
    "repeated-closer",
    "catchphrase-imbalance",
    "length-uniformity",
    "length-outlier",
    "near-duplicate",
    "low-diversity",
    "eval-leakage",
    "assistant-boilerplate",
    "template-leak",
    "templated-prompt",
)
PRECISION_BAR = 0.8


@dataclass
class Finding:
    file: str
    d: Diagnostic
    verdict: str = "unjudged"
    why: str = ""


@dataclass
class Label:
    """One sentence of LABELS.md as a judgement: `matches(finding, ctx)` says whether it covers the
    finding; `verdict` is true / false / debatable; a true label must be found at least once."""

    file: str
    rule: str
    verdict: str
    says: str
    matches: Callable[[Diagnostic, FileFacts], bool] = lambda d, facts: True


@dataclass
class FileFacts:
    """What a judgement needs to know about a file: exact-duplicate lines and their originals."""

    path: Path
    first_of: dict[int, int]
    """line -> first line with the same text (whitespace-normalised), for every line."""
    prompts: dict[int, str]
    answers: dict[int, list[str]]

    @classmethod
    def read(cls, path: Path) -> FileFacts:
        first_seen: dict[str, int] = {}
        first_of, prompts, answers = {}, {}, {}
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            key = " ".join(raw.split())
            first_of[number] = first_seen.setdefault(key, number)
            try:
                messages = json.loads(raw).get("messages", [])
            except (ValueError, AttributeError):
                continue
            prompts[number] = "\n".join(m.get("content", "") for m in messages if m.get("role") == "user")
            answers[number] = [m.get("content", "") for m in messages if m.get("role") == "assistant"]
        return cls(path, first_of, prompts, answers)

    def is_copy(self, line: int | None) -> bool:
        return line is not None and self.first_of.get(line, line) != line


def _warning(d: Diagnostic) -> bool:
    return d.severity in ("error", "warning")


def _mentions(*needles: str) -> Callable[[Diagnostic, FileFacts], bool]:
    return lambda d, facts: any(n in d.message.lower() for n in needles)


CAVEMAN_TCP = 45  # LABELS.md: "style-drift on line 45 and its 13 exact copies"

LABELS = [
    # bluey.jsonl
    Label("bluey.jsonl", "length-uniformity", "true",
          "All 111 answers are 52–76 words (CV 0.07), whatever was asked.",
          lambda d, f: d.line is None and _warning(d)),
    Label("bluey.jsonl", "style-drift", "false", "Clean: no answer is in another voice."),
    Label("bluey.jsonl", "eval-leakage", "false",
          "The look-alike prompts are not leaks when split head 80 / tail 31."),
    # caveman.jsonl
    Label("caveman.jsonl", "duplicate-example", "true", "459 lines are exact duplicates of earlier lines.",
          lambda d, f: f.is_copy(d.line)),
    Label("caveman.jsonl", "duplicate-prompt", "true", "Duplicate prompts with different answers exist too."),
    Label("caveman.jsonl", "style-drift", "false",
          "style-drift on line 45 and its 13 exact copies: acronyms, in the same terse voice.",
          lambda d, f: d.line is not None and f.first_of.get(d.line) == f.first_of.get(CAVEMAN_TCP)),
    Label("caveman.jsonl", "near-duplicate", "false",
          "near-duplicate findings that re-report lines already reported as exact duplicates.",
          lambda d, f: f.is_copy(d.line)),
    Label("caveman.jsonl", "repeated-opener", "debatable",
          '"use" opens 12 of the 41 distinct answers: the persona\'s direct style; at most info.',
          lambda d, f: "'use" in d.message.lower() and not _warning(d)),
    Label("caveman.jsonl", "repeated-opener", "false",
          '"use" opens 12 of 41 answers: at most info, so a warning is a false alarm.',
          lambda d, f: "'use" in d.message.lower() and _warning(d)),
    # alchemy_docs.jsonl
    Label("alchemy_docs.jsonl", "template-leak", "true",
          "Every prompt ends with the separator \\n\\n###\\n\\n and every answer ends with ###.",
          lambda d, f: d.line is not None and ("###" in d.message)),
    Label("alchemy_docs.jsonl", "whitespace", "true", "Every answer begins with a leading space."),
    Label("alchemy_docs.jsonl", "duplicate-prompt", "true", "Duplicate prompts at lines 82, 83, 96, 98 and 108.",
          lambda d, f: d.line in (82, 83, 96, 98, 108)),
    Label("alchemy_docs.jsonl", "repeated-closer", "true",
          "One boilerplate sentence, 'For more information, refer to ...', closes many answers.",
          _mentions("information", "refer to", "documentation page", "section of the")),
    Label("alchemy_docs.jsonl", "catchphrase-imbalance", "true",
          "It is one phrase; report it once, not as five overlapping n-grams (the first report).",
          _mentions("information", "refer to", "documentation page", "section of the")),
    Label("alchemy_docs.jsonl", "style-drift", "false",
          "style-drift on lines 11, 19 and 29: a cURL example, URLs and setup steps are content.",
          lambda d, f: d.line in (11, 19, 29)),
    Label("alchemy_docs.jsonl", "near-duplicate", "debatable",
          "Line 69 vs 68: deliberately parallel answers about two webhooks.",
          lambda d, f: d.line in (68, 69) or {68, 69} & set(d.related)),
    # dilbert.jsonl
    Label("dilbert.jsonl", "length-uniformity", "false",
          "A one-sentence rewrite task: each answer's length follows its prompt. At most info.",
          lambda d, f: _warning(d)),
    Label("dilbert.jsonl", "repeated-opener", "false",
          "The opener 'i am': 17 of those 19 prompts start 'I'm/I'll/I...'; the answer mirrors the prompt.",
          _mentions("'i am", "'i ")),
    Label("dilbert.jsonl", "style-drift", "false", "Clean: no answer is in another voice."),
]
# A rule reporting one cause several times: only the first finding a "true" label covers is
# true; LABELS.md says "report it once" for these.
ONCE = {("alchemy_docs.jsonl", "catchphrase-imbalance")}


def lint_file(path: Path, eval_path: Path | None = None) -> list[Diagnostic]:
    linter = Linter(Settings(cache=False))
    result = LintResult([linter.lint_path(path)])
    if eval_path is not None:
        result = linter.lint_with_eval(result, eval_path)
    return result.diagnostics


def judge(realdata: Path) -> tuple[list[Finding], dict[int, int]]:
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted({label.file for label in LABELS}):
            path = realdata / name
            facts = FileFacts.read(path)
            eval_path = None
            if name == "bluey.jsonl":  # LABELS.md: split head 80 / tail 31 into train and eval
                lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
                train, evaluation = Path(tmp, "bluey-train.jsonl"), Path(tmp, "bluey-eval.jsonl")
                train.write_text("".join(lines[:80]), encoding="utf-8")
                evaluation.write_text("".join(lines[80:]), encoding="utf-8")
                found = [d for d in lint_file(train, evaluation) if d.name == "eval-leakage"]
                found += lint_file(path)
            else:
                found = lint_file(path, eval_path)
            used_once: set[tuple[str, str]] = set()
            for d in found:
                finding = Finding(name, d)
                for label in LABELS:
                    if label.file == name and label.rule == d.name and label.matches(d, facts):
                        finding.verdict, finding.why = label.verdict, label.says
                        if label.verdict == "true" and (name, d.name) in ONCE:
                            if (name, d.name) in used_once:
                                finding.verdict, finding.why = "false", "the same cause reported again"
                            used_once.add((name, d.name))
                        break
                findings.append(finding)
    found_labels = {}
    for i, label in enumerate(LABELS):
        if label.verdict == "true":
            found_labels[i] = sum(1 for f in findings if f.file == label.file and f.why == label.says
                                  and f.verdict == "true")
    return findings, found_labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--realdata", default=str(ROOT.parent / "shared" / "realdata"))
    parser.add_argument("--show", action="store_true", help="print every judged and unjudged voice finding")
    args = parser.parse_args()
    realdata = Path(args.realdata)
    if not (realdata / "LABELS.md").is_file():
        print(f"real_data: no LABELS.md in {realdata}; pass --realdata", file=sys.stderr)
        return 2
    findings, found_labels = judge(realdata)

    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in findings:
        table[f.d.name]["flagged"] += 1
        table[f.d.name][f.verdict] += 1
    print(f"{'rule':24} {'flagged':>7} {'true':>5} {'false':>5} {'debat.':>6} {'unjudged':>8} {'precision':>9}")
    failed = False
    for rule in sorted(table, key=lambda r: (r not in VOICE_RULES, r)):
        row = table[rule]
        judged = row["true"] + row["false"]
        precision = row["true"] / judged if judged else None
        shown = f"{precision:.2f}" if precision is not None else "-"
        voice = rule in VOICE_RULES
        bad = voice and precision is not None and precision < PRECISION_BAR
        failed |= bad
        print(f"{rule:24} {row['flagged']:>7} {row['true']:>5} {row['false']:>5} {row['debatable']:>6} "
              f"{row['unjudged']:>8} {shown:>9}{'  < ' + str(PRECISION_BAR) if bad else ''}"
              f"{'' if voice else '  (structural)'}")
    print("\nTrue problems in LABELS.md:")
    for i, n in found_labels.items():
        label = LABELS[i]
        failed |= n == 0
        print(f"  {'found' if n else 'MISSED':6} {label.file}: {label.rule}: {label.says}" + (f" ({n})" if n else ""))
    unjudged = [f for f in findings if f.verdict == "unjudged" and f.d.name in VOICE_RULES]
    if unjudged or args.show:
        print(f"\nVoice findings no label covers ({len(unjudged)}; read them):")
        for f in unjudged[:40]:
            print(f"  {f.file}:{f.d.line or '-'}: {f.d.name} [{f.d.severity}] {f.d.message[:150]}")
    if args.show:
        print("\nJudged voice findings:")
        for f in findings:
            if f.d.name in VOICE_RULES and f.verdict != "unjudged":
                print(f"  {f.verdict:9} {f.file}:{f.d.line or '-'}: {f.d.name} {f.d.message[:120]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
