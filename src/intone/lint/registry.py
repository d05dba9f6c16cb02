"""The rule table: every rule has a unique code, a kebab-case name, docs and typed options."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from intone.lint.diagnostic import Diagnostic, Severity
from intone.schemas.problems import Problem

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.edit import LineEdit
    from intone.lint.profile import DatasetProfile
    from intone.schemas.jsonl import Line
    from intone.schemas.problems import ReadProblem

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_CODE_RE = re.compile(r"^IN\d{3}$")


@dataclass(frozen=True)
class Option:
    """A typed rule option, set in config under `[tool.intone.rules.<rule-name>]`.

    The default's type is the option's type; a list default means a list of non-empty strings."""

    name: str
    default: Any
    help: str
    low: float | None = None
    """Smallest allowed value (inclusive), for numbers."""
    high: float | None = None
    """Largest allowed value (inclusive), for numbers."""

    def coerce(self, value: Any) -> Any:
        """Check a configured value against the default's type and the range; raise ValueError if wrong."""
        want = type(self.default)
        if want is list:  # list options are lists of phrases
            if not isinstance(value, list):
                raise ValueError(f"expected a list of strings, got {type(value).__name__} {value!r}")
            bad = [item for item in value if not isinstance(item, str) or not item.strip()]
            if bad:
                raise ValueError(f"expected a list of non-empty strings, got item {bad[0]!r}")
            return list(value)
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if want is bool and not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        if self.default is not None and (not isinstance(value, want) or (want is int and isinstance(value, bool))):
            raise ValueError(f"expected {want.__name__}, got {type(value).__name__} {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and ((self.low is not None and value < self.low) or (self.high is not None and value > self.high)):
            raise ValueError(f"must be {self.range()}, got {value!r}")
        return value

    def range(self) -> str:
        """The allowed values in words, e.g. "between 0 and 1" or "at least 1"."""
        if self.low is not None and self.high is not None:
            return f"between {self.low:g} and {self.high:g}"
        if self.low is not None:
            return f"at least {self.low:g}"
        if self.high is not None:
            return f"at most {self.high:g}"
        return "any value"


class Rule:
    """Base of all rules. Subclasses set the class attributes and a ruff-style docstring."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    """One line for `intone rules` and the README table."""
    fix_hint: ClassVar[str | None] = None
    """Default advice attached to each diagnostic."""
    options: ClassVar[tuple[Option, ...]] = ()
    fixable: ClassVar[bool] = False
    aliases: ClassVar[tuple[str, ...]] = ()
    """Old codes or names that still select this rule."""
    reported_by: ClassVar[str | None] = None
    """Set when another command, not `intone lint`, produces the finding (e.g. "intone train")."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        values = {opt.name: opt.default for opt in self.options}
        values.update(settings or {})
        self.opt: dict[str, Any] = values

    def fix(self, edit: LineEdit) -> bool:
        """A fixable rule's safe fix of one line (`--fix`); True when it changed `edit`."""
        raise NotImplementedError(f"{self.name} is marked fixable but has no fix")

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    def diagnostic(
        self,
        path: str,
        line: int | None,
        message: str,
        *,
        column: int | None = None,
        fix: str | None = None,
        related: Iterable[int] = (),
        details: Iterable[str] = (),
        severity: Severity | None = None,
    ) -> Diagnostic:
        """A finding of this rule; `severity` lowers (or raises) the rule's default for one
        finding whose evidence says it matters less (e.g. a length that follows the task)."""
        return Diagnostic(
            path=path,
            line=line,
            column=column,
            code=self.code,
            name=self.name,
            severity=severity or self.severity,
            message=message,
            fix=fix if fix is not None else self.fix_hint,
            related=tuple(related),
            fixable=self.fixable,
            details=tuple(details),
        )


class LineRule(Rule):
    """Reports one kind of problem the JSONL reader finds (`problem`, a `schemas.problems.Problem`)."""

    problem: ClassVar[Problem]

    def from_problem(self, path: str, line: int, problem: ReadProblem) -> Diagnostic:
        """The finding for a reader problem of this rule's kind on `line`."""
        return self.diagnostic(path, line, problem.message, column=problem.column)


def read_diagnostics(line: Line, rules: Mapping[Problem, LineRule], path: str) -> Iterator[Diagnostic]:
    """The findings for the reader's problems on one line, from the selected line rules: the one
    path by which batch lint and the editor's live lint turn a `ReadProblem` into a Diagnostic."""
    for problem in line.problems:
        rule = rules.get(problem.name)
        if rule is not None:
            yield rule.from_problem(path, line.number, problem)


class RecordRule(Rule):
    """Looks at one line (with its parsed record) at a time."""

    def check(self, line: Line, ctx: LintContext) -> Iterator[Diagnostic]:
        raise NotImplementedError

    def check_many(self, lines: Sequence[Line], ctx: LintContext) -> Iterator[Diagnostic]:
        """What `check` finds in each of `lines` (every one with a record), in order.

        The engine hands record rules blocks of lines. A rule whose findings are rare may
        override this with one quick search of the whole block for the lines that could hold a
        finding, then `check` only those: it must find exactly what `check` finds line by line."""
        check = self.check
        for line in lines:
            yield from check(line, ctx)


class DatasetRule(Rule):
    """Looks at the dataset profile, computed once in the engine's single pass."""

    cost: ClassVar[float] = 0.1
    """About how many seconds the rule takes on a large file (100k two-turn records, measured):
    the engine splits the rules between two cores by it, so only the ratios matter."""
    shares: ClassVar[str | None] = None
    """The name of a costly profile analysis this rule reads with other rules (the same name on
    each): the engine runs such rules one after the other on one core, so it is made once."""

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        raise NotImplementedError


class CrossRule(Rule):
    """Compares the training profile with an eval file's profile (`--eval`); reports on eval lines."""

    def check_cross(
        self, train: DatasetProfile, evaluation: DatasetProfile, ctx: LintContext
    ) -> Iterator[Diagnostic]:
        raise NotImplementedError


class RuleError(Exception):
    pass


class Registry:
    """An explicit table of rule classes, keyed by code and by name."""

    def __init__(self, rules: Iterable[type[Rule]] = ()) -> None:
        self._by_code: dict[str, type[Rule]] = {}
        self._by_name: dict[str, type[Rule]] = {}
        self._by_problem: dict[Problem, type[LineRule]] = {}
        for rule in rules:
            self.register(rule)

    def register(self, rule: type[Rule]) -> type[Rule]:
        for attr in ("code", "name", "severity", "summary"):
            if not getattr(rule, attr, None):
                raise RuleError(f"{rule.__name__} has no {attr}")
        if not _CODE_RE.match(rule.code):
            raise RuleError(f"{rule.__name__}: code {rule.code!r} is not of the form IN123")
        if not _NAME_RE.match(rule.name):
            raise RuleError(f"{rule.__name__}: name {rule.name!r} is not kebab-case")
        doc = rule.doc()
        missing = [s for s in DOC_SECTIONS if f"## {s}" not in doc]
        if missing:
            raise RuleError(f"{rule.name}: docstring lacks sections {', '.join(missing)}")
        for key in (rule.code, *rule.aliases):
            if key in self._by_code:
                raise RuleError(f"duplicate code {key}: {rule.name} and {self._by_code[key].name}")
            self._by_code[key] = rule
        if rule.name in self._by_name:
            raise RuleError(f"duplicate rule name {rule.name}")
        if rule.fixable and rule.fix is Rule.fix:
            raise RuleError(f"{rule.name} is marked fixable but has no fix()")
        if issubclass(rule, LineRule):
            problem = getattr(rule, "problem", None)
            if not isinstance(problem, Problem):
                raise RuleError(f"{rule.name}: a line rule needs `problem`, the reader problem it reports")
            if problem in self._by_problem:
                raise RuleError(f"problem {problem} reported by both {rule.name} and {self._by_problem[problem].name}")
            self._by_problem[problem] = rule
        self._by_name[rule.name] = rule
        return rule

    def __iter__(self) -> Iterator[type[Rule]]:
        return iter(sorted(set(self._by_name.values()), key=lambda r: r.code))

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, key: str) -> type[Rule] | None:
        return self._by_code.get(key.upper()) or self._by_name.get(key.lower())

    def for_problem(self, problem: Problem) -> type[LineRule]:
        """The line rule that reports a reader problem; every `Problem` has one (a meta-test holds it)."""
        return self._by_problem[problem]

    def by_name(self, name: str) -> type[Rule]:
        return self._by_name[name]

    def select(self, selectors: Iterable[str]) -> set[str]:
        """Rule names matched by selectors: ALL, a name, a code, or a code prefix like IN2."""
        chosen: set[str] = set()
        for sel in selectors:
            chosen |= self.match(sel)
        return chosen

    def match(self, selector: str) -> set[str]:
        sel = selector.strip()
        if sel.upper() == "ALL":
            return set(self._by_name)
        rule = self.get(sel)
        if rule is not None:
            return {rule.name}
        if sel.upper().startswith("IN") and sel[2:].isdigit():
            matched = {r.name for code, r in self._by_code.items() if code.startswith(sel.upper())}
            if matched:  # a prefix or code that matches nothing is a typo, not an empty selection
                return matched
        raise KeyError(sel)
