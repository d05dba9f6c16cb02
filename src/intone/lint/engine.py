"""The lint engine: one streaming pass per file, then dataset rules on the profile."""

from __future__ import annotations

import fnmatch
import io
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from intone.config import Settings
from intone.errors import ConfigError
from intone.lint.context import LintContext
from intone.lint.diagnostic import SEVERITY_RANK, Diagnostic
from intone.lint.edit import rewritable
from intone.lint.profile import Columns, DatasetProfile, pack_columns, unpack_columns
from intone.lint.registry import (
    CrossRule,
    DatasetRule,
    LineRule,
    RecordRule,
    Registry,
    Rule,
    read_diagnostics,
)
from intone.lint.rules import RULES
from intone.lint.rules.structure import CrlfLineEnding, UnreadableFile
from intone.lint.tokens import TiktokenCounter, TokenCounter
from intone.schemas.jsonl import Line, read_jsonl

Progress = Callable[[int], None]


@dataclass
class FileReport:
    path: str
    diagnostics: list[Diagnostic]
    n_lines: int = 0
    n_records: int = 0
    profile: DatasetProfile | None = None


@dataclass
class LintResult:
    files: list[FileReport] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for f in self.files for d in f.diagnostics]

    def summary(self) -> dict[str, Any]:
        diags = self.diagnostics
        by_severity = Counter(d.severity for d in diags)
        return {
            "files": len(self.files),
            "records": sum(f.n_records for f in self.files),
            "lines": sum(f.n_lines for f in self.files),
            "diagnostics": len(diags),
            "errors": by_severity.get("error", 0),
            "warnings": by_severity.get("warning", 0),
            "infos": by_severity.get("info", 0),
            "fixable": sum(1 for d in diags if d.fixable),
            "by_rule": dict(sorted(Counter(d.name for d in diags).items())),
        }

    def worst(self) -> int:
        return max((SEVERITY_RANK[d.severity] for d in self.diagnostics), default=-1)


class Linter:
    """Holds settings, the rule table and a token counter; lints files or line streams."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        registry: Registry = RULES,
        counter: TokenCounter | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.registry = registry
        self.counter = counter or TiktokenCounter()
        self._options = self._resolve_options()
        self._selected = self._select(self.settings.select, self.settings.ignore)

    # ------------------------------------------------------------------ selection

    def _select(self, select: Iterable[str], ignore: Iterable[str]) -> set[str]:
        try:
            return self.registry.select(select) - self.registry.select(ignore)
        except KeyError as exc:
            raise ConfigError(f"unknown rule {exc.args[0]!r} in select/ignore; see `intone rules`") from None

    def _resolve_options(self) -> dict[str, dict[str, Any]]:
        resolved: dict[str, dict[str, Any]] = {}
        configured = dict(self.settings.rules)
        source = f"{self.settings.source}: " if self.settings.source else ""
        for key, values in configured.items():
            rule = self.registry.get(key)
            if rule is None:
                raise ConfigError(f"{source}[tool.intone.rules]: unknown rule {key!r}; see `intone rules`")
            if not isinstance(values, dict):
                raise ConfigError(f"{source}[tool.intone.rules.{key}] must be a table of options")
            known = {o.name: o for o in rule.options}
            for opt_name, value in values.items():
                if opt_name not in known:
                    names = ", ".join(known) or "none"
                    raise ConfigError(
                        f"{source}[tool.intone.rules.{rule.name}]: unknown option {opt_name!r} (options: {names})"
                    )
                try:
                    resolved.setdefault(rule.name, {})[opt_name] = known[opt_name].coerce(value)
                except ValueError as exc:
                    raise ConfigError(f"{source}[tool.intone.rules.{rule.name}] {opt_name}: {exc}") from None
        too_long = resolved.setdefault("too-long", {})
        too_long.setdefault("max-tokens", self.settings.max_tokens)
        return resolved

    def rules_for(self, path: str) -> list[Rule]:
        names = set(self._selected)
        candidates = {path, os.path.basename(path), _relative_to(path, self.settings.root)}
        for pattern, ignored in self.settings.per_file_ignores.items():
            if any(fnmatch.fnmatch(c, pattern) for c in candidates):
                names -= self._select(ignored, [])
        return [rule(self._options.get(rule.name)) for rule in self.registry if rule.name in names]

    # ------------------------------------------------------------------ linting

    def lint_path(self, path: str | Path, *, progress: Progress | None = None) -> FileReport:
        display = str(path)
        with _few_collections():
            pieces = _pieces(path)
            if pieces is not None:
                return self._lint_in_pieces(path, display, pieces, progress)
            with open(path, "rb", buffering=1 << 20) as stream:
                return self.lint_stream(stream, display, progress=progress)

    def unreadable(self, path: str | Path, exc: OSError) -> FileReport:
        """The report for a file found in a folder that could not be opened or read (`exc`): one
        unreadable-file finding, whatever the selection, since a file not read was not checked."""
        display = str(path)
        return FileReport(display, [UnreadableFile().for_error(display, exc)])

    def lint_stream(self, stream: BinaryIO, display: str, *, progress: Progress | None = None) -> FileReport:
        return self.lint_lines(read_jsonl(_Counting(stream, progress) if progress else stream), display)

    def lint_lines(self, lines: Iterable[Line], display: str) -> FileReport:
        with _few_collections():
            scan = self._scan(lines, display)
            return self._finish(scan, display)

    def _scan(self, lines: Iterable[Line], display: str) -> _Scan:
        """The per-line pass: reader problems, record rules, and the profile's examples."""
        rules = self.rules_for(display)
        ctx = LintContext(path=display, settings=self.settings, counter=self.counter)
        line_rules = {r.problem: r for r in rules if isinstance(r, LineRule)}
        record_rules = [r for r in rules if isinstance(r, RecordRule)]
        profile = DatasetProfile(path=display)
        scan = _Scan(profile.columns)
        out = scan.diagnostics
        block: list[Line] = []  # records wait in blocks for the record rules' `check_many`
        for line in lines:
            scan.n_lines = line.number
            for diagnostic in read_diagnostics(line, line_rules, display):
                if diagnostic.name == CrlfLineEnding.name:
                    scan.crlf_at = len(out)
                out.append(diagnostic)
            if line.ending == b"\r\n" and not rewritable(line):
                scan.crlf_kept.append(line.number)
            if line.record is None:
                continue
            block.append(line)
            if len(block) == RECORD_BLOCK:
                self._check_block(block, record_rules, profile, ctx, out)
                block = []
        if block:
            self._check_block(block, record_rules, profile, ctx, out)
        return scan

    @staticmethod
    def _check_block(
        block: list[Line], record_rules: list[RecordRule], profile: DatasetProfile, ctx: LintContext,
        out: list[Diagnostic],
    ) -> None:
        """The record rules on a block of lines, then the lines into the profile. (In this order
        ctrl+q in the editor, while its background lint reads a 50 MB record, quit in 0.6-0.9 s
        here; the other way round, 1.3-2.2 s: `tests/authoring/test_big_files.py`.)"""
        for record_rule in record_rules:
            out.extend(record_rule.check_many(block, ctx))
        for line in block:
            profile.add(line)

    def _finish(self, scan: _Scan, display: str) -> FileReport:
        """After the pass: the CRLF verdict, then the dataset rules on the whole profile."""
        rules = self.rules_for(display)
        ctx = LintContext(path=display, settings=self.settings, counter=self.counter)
        out = scan.diagnostics
        if scan.crlf_at is not None and scan.crlf_kept:
            crlf_rule = next(r for r in rules if isinstance(r, CrlfLineEnding))
            out[scan.crlf_at] = crlf_rule.not_fixable(out[scan.crlf_at], scan.crlf_kept)
        profile = DatasetProfile(path=display, n_lines=scan.n_lines, columns=scan.columns)
        out.extend(_run_dataset_rules([r for r in rules if isinstance(r, DatasetRule)], profile, ctx))
        out.sort(key=Diagnostic.sort_key)
        return FileReport(display, out, scan.n_lines, profile.n_records, profile)

    def _lint_in_pieces(self, path: str | Path, display: str, pieces: list[tuple[int, int, int]],
                        progress: Progress | None) -> FileReport:
        """The per-line pass over a large file on two cores: this process and a forked child take
        its pieces one at a time from a shared queue (a pipe of piece numbers), so that both
        finish at about the same time however fast each core runs; the pieces' scans are joined
        in file order before the dataset rules. Whatever the child took and did not hand back
        (trouble in the child, or no fork) this process scans itself."""
        queue = _Queue(len(pieces))

        def in_child() -> dict[int, bytes]:
            # Each piece is pickled as soon as it is scanned, so that packing is part of the
            # work the queue shares out, and the hand-back at the end only copies bytes.
            import pickle

            queue.close_filling_end()
            return {
                i: pickle.dumps(self._scan_piece(path, display, pieces[i]), protocol=pickle.HIGHEST_PROTOCOL)
                for i in queue.taken()
            }

        child = _fork_scan(in_child)
        queue.close_filling_end()
        reported = 0

        def advance(done: int) -> None:
            nonlocal reported
            if progress is not None and done > reported:
                progress(done - reported)
                reported = done

        scans: dict[int, _Scan] = {}
        try:
            for i in queue.taken():
                advance(pieces[i][0])  # the pieces before this one are taken: scanned or being scanned
                scans[i] = self._scan_piece(path, display, pieces[i], advance)
            theirs = child.result() if child is not None else None
        finally:
            queue.close()
        if theirs:
            import pickle

            for i in sorted(theirs):
                scans[i] = pickle.loads(theirs.pop(i))  # each piece's bytes freed once loaded
        for i in range(len(pieces)):
            if i not in scans:
                scans[i] = self._scan_piece(path, display, pieces[i])
        advance(pieces[-1][1])
        scan = scans[0]
        for i in range(1, len(pieces)):
            scan.extend(scans.pop(i))
        return self._finish(scan, display)

    def _scan_piece(self, path: str | Path, display: str, piece: tuple[int, int, int],
                    advance: Callable[[int], None] | None = None) -> _Scan:
        """`_scan` of one piece of the file: (start byte, end byte, its first line's number);
        `advance(done)` is told the file offset reached, now and then."""
        start, end, first_line = piece
        with open(path, "rb") as stream:
            stream.seek(start)
            data = stream.read(end - start)
        lines: Iterable[bytes] = io.BytesIO(data)
        if advance is not None:
            reached = start

            def seen(n: int) -> None:
                nonlocal reached
                reached += n
                advance(reached)

            lines = _Counting(lines, seen)
        return self._scan(read_jsonl(lines, first_line=first_line), display)

    def lint_with_eval(self, result: LintResult, eval_path: str | Path) -> LintResult:
        """Lint the eval file too, then run cross rules for each training file against it."""
        eval_report = self.lint_path(eval_path)
        display = str(eval_path)
        ctx = LintContext(path=display, settings=self.settings, counter=self.counter)
        cross = [r for r in self.rules_for(display) if isinstance(r, CrossRule)]
        found: list[Diagnostic] = []
        for report in result.files:
            train_profile = report.profile
            if train_profile is None:  # served from cache: profile needed, so lint again
                train_profile = self.lint_path(report.path).profile
            for rule in cross:
                found.extend(rule.check_cross(train_profile, eval_report.profile, ctx))
        eval_report.diagnostics = sorted(eval_report.diagnostics + found, key=Diagnostic.sort_key)
        files = [f for f in result.files if f.path != display]
        return LintResult(files + [eval_report])


RECORD_BLOCK = 1024
"""Records handed to each record rule at a time (the findings are sorted afterwards)."""
PARALLEL_MIN_EXAMPLES = 5_000
PARALLEL_MIN_BYTES = 8 << 20
"""Files at least this large are scanned in two halves on two cores (about 15k typical records)."""


@dataclass
class _Scan:
    """What the per-line pass found in a run of lines."""

    columns: Columns
    """The examples' fields, in columns."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    n_lines: int = 0
    crlf_at: int | None = None
    """Index in `diagnostics` of the crlf-line-ending finding (reported once per file)."""
    crlf_kept: list[int] = field(default_factory=list)

    def __reduce__(self):
        """Pickled with the columns packed (a forked scan's result comes back so)."""
        packed = pack_columns(self.columns)
        return _rebuilt_scan, (packed, self.diagnostics, self.n_lines, self.crlf_at, self.crlf_kept)

    def extend(self, tail: _Scan) -> None:
        """Append the scan of the lines after this one's (its lists are extended in place, so
        joining many pieces copies each once): one CRLF finding, the first."""
        tail_diagnostics = tail.diagnostics
        if tail.crlf_at is not None:
            if self.crlf_at is None:
                self.crlf_at = len(self.diagnostics) + tail.crlf_at
            else:  # the tail's own "reported once" finding is a repeat
                tail_diagnostics = tail_diagnostics[: tail.crlf_at] + tail_diagnostics[tail.crlf_at + 1 :]
        self.columns.extend(tail.columns)
        self.diagnostics += tail_diagnostics
        self.n_lines = max(self.n_lines, tail.n_lines)
        self.crlf_kept += tail.crlf_kept


def _rebuilt_scan(packed: tuple, *rest: Any) -> _Scan:
    return _Scan(unpack_columns(packed), *rest)


SCAN_PIECES = 12
"""A large file is cut into this many pieces for its two scanning processes to share out: small
enough that a slower core (another program busy on it, an efficiency core) leaves the other
little to wait for, large enough that each piece's setup is noise."""


def _pieces(path: str | Path) -> list[tuple[int, int, int]] | None:
    """Where to cut a large regular file for scans on two cores: (start byte, end byte, first
    line number) of each piece, cut at line starts; None for small files, one core, no fork, or
    a file that cannot be cut (one huge line)."""
    if not _can_fork():
        return None
    try:
        size = os.stat(path).st_size
        if size < PARALLEL_MIN_BYTES:
            return None
        with open(path, "rb") as stream:
            starts = [0]
            for k in range(1, SCAN_PIECES):
                stream.seek(max(size * k // SCAN_PIECES, starts[-1]))
                stream.readline()  # to the start of the next line
                at = stream.tell()
                if starts[-1] < at < size:
                    starts.append(at)
            if len(starts) < 2:
                return None
            lines_before = _newlines_before(stream, starts)
    except OSError:
        return None
    ends = [*starts[1:], size]
    return [(a, b, 1 + n) for a, b, n in zip(starts, ends, lines_before, strict=True)]


def _newlines_before(stream: BinaryIO, offsets: list[int]) -> list[int]:
    """For each of these ascending offsets, the newlines in `stream` before it: one read from the
    start into one reused buffer (fresh 4 MB blocks cost more in page faults than the counting),
    counted by numpy (four times faster than `bytes.count`)."""
    import numpy as np

    buffer = bytearray(min(offsets[-1], 1 << 22) if offsets else 0)
    data = np.frombuffer(buffer, dtype=np.uint8)
    is_newline = np.empty(len(buffer), dtype=bool)
    found, count, at = [], 0, 0
    stream.seek(0)
    for offset in offsets:
        while at < offset:
            got = stream.readinto(memoryview(buffer)[: min(offset - at, len(buffer))])
            if not got:
                break
            np.equal(data[:got], 10, out=is_newline[:got])
            count += int(np.count_nonzero(is_newline[:got]))
            at += got
        found.append(count)
    return found


class _Forked:
    """A call running in a forked child; `result()` is its return value, or None if it failed."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd

    def result(self) -> Any:
        import pickle

        chunks = []
        with os.fdopen(self.fd, "rb") as pipe:
            while block := pipe.read(1 << 20):
                chunks.append(block)
        _, status = os.waitpid(self.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not chunks:
            return None
        data = b"".join(chunks)
        chunks.clear()  # one copy of the child's bytes at a time
        try:
            return pickle.loads(data)
        except Exception:  # noqa: BLE001 - a broken result: the caller does that work itself
            return None


class _Queue:
    """The numbers 0 to n - 1 in a pipe, for this process and a forked child to take one at a
    time: two bytes a number, each read atomic, so no number is taken twice. Both processes
    close the filling end after the fork; then an empty queue reads as its end."""

    def __init__(self, n: int) -> None:
        self._out, self._in = os.pipe()
        os.write(self._in, b"".join(i.to_bytes(2, "little") for i in range(n)))

    def close_filling_end(self) -> None:
        os.close(self._in)

    def taken(self) -> Iterator[int]:
        while len(number := os.read(self._out, 2)) == 2:
            yield int.from_bytes(number, "little")

    def close(self) -> None:
        os.close(self._out)


def _fork(call: Callable[[], Any]) -> _Forked | None:
    """Run `call()` in a forked child (a copy of this process); its result comes back pickled.
    None when no child could be started."""
    import pickle

    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid:  # parent
        os.close(write_fd)
        return _Forked(pid, read_fd)
    code = 1
    try:  # child: never returns into the caller's code
        os.close(read_fd)
        found = call()
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL))
        code = 0
    except BaseException:  # noqa: BLE001 - the parent does this work itself
        code = 1
    finally:
        os._exit(code)


def _fork_scan(call: Callable[[], dict[int, _Scan]]) -> _Forked | None:
    """Run the child's share of a scan (`call`) in a forked child."""
    return _fork(call)


def _run_dataset_rules(
    rules: list[DatasetRule], profile: DatasetProfile, ctx: LintContext
) -> list[Diagnostic]:
    """Run the dataset rules; on large files, on two cores.

    A forked child (reading the profile it shares with this process) and this process take the
    rules one at a time, the costliest first, from a shared queue (a pipe holding their
    numbers), so that both finish at about the same time whatever the data makes each rule
    cost; rules that read one costly analysis (`DatasetRule.shares`) are taken together.
    Results keep the rules' order either way; any rule the child took and did not report
    (trouble in the child) runs here.
    """

    def run(group: list[DatasetRule]) -> dict[str, list[Diagnostic]]:
        return {rule.name: list(rule.check_dataset(profile, ctx)) for rule in group}

    if len(rules) < 2 or profile.n_records < PARALLEL_MIN_EXAMPLES or not _can_fork():
        found = run(rules)
    else:
        together: dict[str, list[DatasetRule]] = {}
        for rule in rules:
            together.setdefault(rule.shares or rule.name, []).append(rule)
        order = sorted(together.values(), key=lambda group: -sum(r.cost for r in group))
        queue = _Queue(len(order))

        def run_queued() -> dict[str, list[Diagnostic]]:
            found: dict[str, list[Diagnostic]] = {}
            for i in queue.taken():
                found.update(run(order[i]))
            return found

        def in_child() -> dict[str, list[Diagnostic]]:
            queue.close_filling_end()
            return run_queued()

        child = _fork(in_child)
        queue.close_filling_end()
        try:
            found = run_queued()
            got = child.result() if child is not None else None
        finally:
            queue.close()
        found.update(got or {})
        found.update(run([rule for rule in rules if rule.name not in found]))
    return [d for rule in rules for d in found[rule.name]]


GC_THRESHOLD = 50_000
"""The cyclic collector's first threshold while linting (Python's default is 700)."""


@contextmanager
def _few_collections() -> Iterator[None]:
    """Run the cyclic garbage collector rarely while linting.

    A lint keeps every record's statistics until the dataset rules have run, so the collector,
    by default run every 700 new objects, walks a growing heap again and again to find cycles
    that a lint hardly makes (a quarter of a large file's lint time went to it). The thresholds
    are restored afterwards, so an editor session lints with the usual collector around it."""
    import gc

    before = gc.get_threshold()
    collect_rarely()
    try:
        yield
    finally:
        gc.set_threshold(*before)


def collect_rarely() -> None:
    """`_few_collections`' setting for the rest of the process: for a command that lints and
    exits, so that no collection of the young objects follows each file's lint."""
    import gc

    first, *rest = gc.get_threshold()
    gc.set_threshold(max(first, GC_THRESHOLD), *rest)


def _can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2 and not os.environ.get("INTONE_NO_FORK")


def _relative_to(path: str, root: Path) -> str:
    """The path relative to the config's folder, as per-file-ignores patterns are written."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


class _Counting:
    """Wraps a binary stream (or lines of bytes) to report bytes read, for a progress bar."""

    def __init__(self, stream: Iterable[bytes], progress: Progress) -> None:
        self._stream = stream
        self._progress = progress
        self._seen = 0

    def __iter__(self):
        for chunk in self._stream:
            self._seen += len(chunk)
            if self._seen >= 1 << 20:
                self._progress(self._seen)
                self._seen = 0
            yield chunk
        self._progress(self._seen)
