"""Config discovery ([tool.intone] in pyproject.toml, intone.toml), precedence and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._util import STRUCTURAL, intone, rec, write_jsonl

STORY = "Once upon a time, on a grey and windy sea, a small parrot named Pim sailed with a tired crew."
WARN = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}\n\n'


def names(done) -> list[str]:
    return sorted(d["name"] for d in json.loads(done.stdout)["diagnostics"])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with data in a subfolder: one blank line, one long-ish story."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "set.jsonl").write_text(WARN + json.dumps(rec("Tell me a story", STORY)) + "\n", "utf-8")
    return tmp_path


def lint(project: Path, *args: str, cwd: Path | None = None, path: str = "data/set.jsonl"):
    return intone("lint", "--no-cache", "--format", "json", *args, path, cwd=cwd or project)


def test_pyproject_tool_intone_is_found_from_the_files_folder(project: Path) -> None:
    assert names(lint(project)) == ["blank-line"]
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.intone]\nignore = ["blank-line"]\n\n[tool.intone.rules.too-long]\nmax-tokens = 20\n',
        "utf-8",
    )
    assert names(lint(project)) == ["too-long"]
    # Found by walking up from the linted file, not from the current folder.
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    assert names(lint(project, cwd=elsewhere, path=str(project / "data" / "set.jsonl"))) == ["too-long"]


def test_too_long_message_has_the_numbers(project: Path) -> None:
    (project / "intone.toml").write_text("[rules.too-long]\nmax-tokens = 20\n", "utf-8")
    done = lint(project)
    (diag,) = [d for d in json.loads(done.stdout)["diagnostics"] if d["name"] == "too-long"]
    assert diag["line"] == 3 and "over max-tokens 20" in diag["message"]
    assert done.returncode == 1
    (project / "intone.toml").write_text("max-tokens = 20\n", "utf-8")  # the top-level spelling
    assert "too-long" in names(lint(project))
    assert "too-long" not in names(lint(project, "--max-tokens", "4096"))  # CLI beats the file


def test_intone_toml_wins_over_pyproject_in_the_same_folder(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.intone]\nselect = ["too-long"]\n', "utf-8")
    (project / "intone.toml").write_text('select = ["blank-line"]\n', "utf-8")
    assert names(lint(project)) == ["blank-line"]


def test_pyproject_without_tool_intone_is_skipped(project: Path) -> None:
    (project / "intone.toml").write_text('ignore = ["blank-line"]\n', "utf-8")
    (project / "data" / "pyproject.toml").write_text('[project]\nname = "inner"\n', "utf-8")
    assert names(lint(project)) == []


def test_cli_select_overrides_and_ignore_adds(project: Path) -> None:
    (project / "intone.toml").write_text('select = ["blank-line"]\nignore = ["whitespace"]\n[rules.too-long]\nmax-tokens = 20\n', "utf-8")
    assert names(lint(project)) == ["blank-line"]
    assert names(lint(project, "--select", "too-long,blank-line")) == ["blank-line", "too-long"]
    assert names(lint(project, "--select", "IN1,IN3", "--ignore", "IN103")) == ["too-long"]
    assert names(lint(project, "--select", "ALL", "--ignore", "blank-line,IN310")) == []


def test_explicit_config_file(project: Path, tmp_path: Path) -> None:
    (project / "intone.toml").write_text('select = ["too-long"]\n', "utf-8")
    other = project / "ci.toml"
    other.write_text('ignore = ["blank-line"]\n', "utf-8")
    assert names(lint(project, "--config", "ci.toml")) == []
    (project / "alt").mkdir()
    (project / "alt" / "pyproject.toml").write_text('[tool.intone]\nselect = ["blank-line"]\n', "utf-8")
    assert names(lint(project, "--config", "alt/pyproject.toml")) == ["blank-line"]


def test_per_file_ignores(project: Path) -> None:
    (project / "legacy").mkdir()
    (project / "legacy" / "old.jsonl").write_text(WARN, "utf-8")
    (project / "intone.toml").write_text(
        'select = ["blank-line", "whitespace"]\n[per-file-ignores]\n"legacy/*.jsonl" = ["blank-line"]\n', "utf-8"
    )
    done = intone("lint", "--no-cache", "--format", "json", "legacy/old.jsonl", "data/set.jsonl", cwd=project)
    paths = [d["path"] for d in json.loads(done.stdout)["diagnostics"]]
    assert paths == ["data/set.jsonl"]
    # patterns are relative to the config's folder, whatever the working directory
    done = intone("lint", "--no-cache", "--format", "json", "old.jsonl", cwd=project / "legacy")
    assert json.loads(done.stdout)["diagnostics"] == []
    (project / "intone.toml").write_text('select = ["IN1"]\n[per-file-ignores]\n"set.jsonl" = ["IN103"]\n', "utf-8")
    assert names(lint(project)) == []


@pytest.mark.parametrize(("text", "needles"), [
    ('selekt = ["blank-line"]\n', ["'selekt'", "intone.toml", "known keys"]),
    ('format = "xml"\n', ["format", "xml"]),
    ('fail-on = "fatal"\n', ["fail-on", "fatal"]),
    ('select = "blank-line"\n', ["select", "list"]),
    ("max-tokens = -3\n", ["max-tokens", "positive"]),
    ("[rules.too-long]\nmax-tokns = 20\n", ["max-tokns", "too-long"]),
    ('[rules.too-long]\nmax-tokens = "many"\n', ["max-tokens", "int"]),
    ("[rules.no-such-rule]\nx = 1\n", ["no-such-rule"]),
    ('select = ["no-such-rule"]\n', ["no-such-rule"]),
    ('[per-file-ignores]\n"*.jsonl" = ["nope-rule"]\n', ["nope-rule"]),
    ("select = [\n", ["intone.toml", "invalid TOML"]),
    ("= 3\n", ["intone.toml", "invalid TOML"]),
])
def test_bad_intone_toml_exits_2_naming_the_problem(project: Path, text: str, needles: list[str]) -> None:
    (project / "intone.toml").write_text(text, "utf-8")
    done = lint(project)
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    for needle in needles:
        assert needle in done.stderr, done.stderr


def test_unknown_key_in_pyproject_names_the_key_and_section(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.intone]\nfail_on = "error"\n', "utf-8")
    done = lint(project)
    assert done.returncode == 2
    assert "'fail_on'" in done.stderr and "[tool.intone]" in done.stderr and "pyproject.toml" in done.stderr


def test_invalid_toml_in_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.intone\n", "utf-8")
    done = lint(project)
    assert done.returncode == 2 and "pyproject.toml" in done.stderr and "invalid TOML" in done.stderr


@pytest.mark.parametrize(("text", "needles"), [
    # Issue 10.9: option values are checked against their declared types and ranges.
    ("[rules.too-long]\nmax-tokens = -1\n", ["too-long", "max-tokens", "at least 1"]),
    ("[rules.length-outlier]\nmax-z = nan\n", ["length-outlier", "max-z", "finite"]),
    ("[rules.length-outlier]\nmax-z = inf\n", ["max-z", "finite"]),
    ("[rules.catchphrase-imbalance]\nmin-n = -2\n", ["catchphrase-imbalance", "min-n", "at least 1"]),
    ("[rules.near-duplicate]\nthreshold = -0.5\n", ["near-duplicate", "threshold", "between 0 and 1"]),
    ("[rules.near-duplicate]\nthreshold = 1.5\n", ["threshold", "between 0 and 1"]),
    ("[rules.near-duplicate]\nmin-words = true\n", ["min-words", "int"]),
    ('[persona]\nmarkers = {"" = [0, 1]}\n', ["[persona] markers", "empty"]),
    ('[persona]\nmarkers = {"   " = [0, 1]}\n', ["[persona] markers", "empty"]),
    ('[persona]\nmarkers = {"ahoy" = [0.5, 0.2]}\n', ["'ahoy'", "min <= max"]),
    ('[persona]\nmarkers = {"ahoy" = [0, nan]}\n', ["'ahoy'"]),
    ('[persona]\nmarkers = "ahoy"\n', ["markers must be a table"]),
    ("[persona]\ncolour = 1\n", ["[persona]", "'colour'", "markers"]),
    ("[author]\nkeymapp = {}\n", ["[author]", "'keymapp'", "keymap"]),
    ("[train]\nepochz = 3\n", ["[tool.intone.train]", "'epochz'", "epochs"]),
])
def test_bad_option_values_and_unknown_section_keys_exit_2(project: Path, text: str, needles: list[str]) -> None:
    (project / "intone.toml").write_text(text, "utf-8")
    done = lint(project)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "intone.toml" in done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr


def test_nan_max_z_no_longer_flags_every_answer(project: Path) -> None:
    (project / "intone.toml").write_text("[rules.length-outlier]\nmax-z = nan\n", "utf-8")
    done = lint(project)
    assert done.returncode == 2 and "at ±nan" not in done.stdout


@pytest.mark.parametrize(("text", "needles"), [
    # Issue 10.8: a `tool` or `intone` that is not a table, and a file that is not UTF-8.
    (b"[tool]\nintone = 5\n", ["pyproject.toml", "intone must be a table", "5"]),
    (b'tool = "x"\n', ["pyproject.toml", "`tool` must be a table"]),
    (b'[tool.intone]\nformat = "\xff"\n', ["pyproject.toml", "not UTF-8", "0xff"]),
    (b"[tool.intone.persona]\nmood = 1\n", ["pyproject.toml", "[tool.intone.persona]", "'mood'"]),
])
def test_malformed_pyproject_exits_2_naming_it(project: Path, text: bytes, needles: list[str]) -> None:
    (project / "pyproject.toml").write_bytes(text)
    done = lint(project)
    assert done.returncode == 2, done.stdout + done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_cli_max_tokens_must_be_positive(project: Path, value: str) -> None:
    done = lint(project, "--max-tokens", value)
    assert done.returncode == 2 and "--max-tokens" in done.stderr
