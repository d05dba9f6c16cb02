"""Every output format, on one file with errors and warnings: text, json, github, sarif."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from intone.lint.rules import RULES
from tests.cli._util import STRUCTURAL, intone

BAD = (
    b'{"messages": [{"role": "user", "content": " hi"}, {"role": "assistant", "content": "Ahoy!"}]}\n'
    b"\n"
    b'{"messages": [{"role": "user", "content": "hi"}\n'
    b'{"messages": [{"role": "user", "content": "Tell me"}, {"role": "assistant", "content": "No."}], "tag": 1}\n'
    b'{"messages": [{"role": "user", "content": " hi"}, {"role": "assistant", "content": "Ahoy!"}]}\n'
)
# (line, code, name, severity) of what BAD holds.
EXPECTED = {
    (1, "IN207", "whitespace", "warning"),
    (2, "IN103", "blank-line", "warning"),
    (3, "IN100", "invalid-json", "error"),
    (4, "IN202", "unknown-key", "warning"),
    (5, "IN207", "whitespace", "warning"),
    (5, "IN300", "duplicate-example", "error"),
}


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    (tmp_path / "bad.jsonl").write_bytes(BAD)
    return tmp_path


def lint(folder: Path, *args: str):
    return intone("lint", "--no-cache", "--select", STRUCTURAL, *args, "bad.jsonl", cwd=folder)


LOCATION = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<code>IN\d{3})(?P<fix> \[\*\])? (?P<name>[a-z0-9-]+) (?P<msg>.+)$")


def test_text_is_ruff_like_with_help_lines(bad: Path) -> None:
    done = lint(bad)
    assert done.returncode == 1
    out = done.stdout.splitlines()
    found = []
    for i, text in enumerate(out):
        m = LOCATION.match(text)
        if not m:
            continue
        found.append((int(m["line"]), m["code"], m["name"]))
        assert m["path"] == "bad.jsonl"
        assert (m["fix"] is not None) == (m["name"] in ("whitespace", "blank-line")), text
        following = out[i + 1 : i + 3]
        assert any(f.startswith("  help: ") for f in following), (text, following)
    assert sorted(found) == sorted((line, code, name) for line, code, name, _ in EXPECTED)
    assert "bad.jsonl:3:48: IN100 invalid-json Expecting ',' delimiter" in done.stdout
    assert "  related: line 1" in done.stdout  # the duplicate names the earlier copy
    assert "Found 6 problems (2 errors, 4 warnings)" in done.stdout
    assert "[*] 3 fixable with `intone lint --fix`" in done.stdout
    assert "\x1b[" not in done.stdout  # not a terminal: no colour


def test_statistics_counts_per_rule(bad: Path) -> None:
    done = lint(bad, "--statistics")
    counts = {m[4]: int(m[1]) for m in re.finditer(r"^ +(\d+)  (IN\d{3})  (\[\*\] |    )(\S+)$", done.stdout, re.M)}
    assert counts == {"whitespace": 2, "blank-line": 1, "invalid-json": 1, "unknown-key": 1, "duplicate-example": 1}
    assert done.returncode == 1


def test_json_keys_are_exactly_the_documented_ones(bad: Path) -> None:
    done = lint(bad, "--format", "json")
    assert done.returncode == 1
    payload = json.loads(done.stdout)
    assert set(payload) == {"diagnostics", "summary"}
    for d in payload["diagnostics"]:
        assert list(d) == ["path", "line", "column", "code", "name", "severity", "message", "fix", "related"]
        assert d["path"] == "bad.jsonl" and isinstance(d["line"], int) and isinstance(d["related"], list)
        assert d["severity"] in ("error", "warning", "info")
    got = {(d["line"], d["code"], d["name"], d["severity"]) for d in payload["diagnostics"]}
    assert got == EXPECTED
    dup = next(d for d in payload["diagnostics"] if d["name"] == "duplicate-example")
    assert dup["related"] == [1]
    invalid = next(d for d in payload["diagnostics"] if d["name"] == "invalid-json")
    assert invalid["column"] == 48 and invalid["fix"]
    summary = payload["summary"]
    assert summary["diagnostics"] == 6 and summary["errors"] == 2 and summary["warnings"] == 4
    assert summary["files"] == 1 and summary["records"] == 3 and summary["fixable"] == 3
    assert summary["by_rule"] == {"blank-line": 1, "duplicate-example": 1, "invalid-json": 1, "unknown-key": 1, "whitespace": 2}


def test_json_clean_run(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_bytes(BAD.splitlines(keepends=True)[3])
    done = intone("lint", "--select", "IN1", "--format", "json", "bad.jsonl", cwd=tmp_path)
    assert done.returncode == 0
    assert json.loads(done.stdout)["diagnostics"] == []


def test_github_annotations(bad: Path) -> None:
    done = lint(bad, "--format", "github")
    assert done.returncode == 1
    rows = done.stdout.splitlines()
    assert len(rows) == len(EXPECTED)
    pattern = re.compile(r"^::(error|warning|notice) file=bad\.jsonl,line=(\d+)(,col=\d+)?,title=(IN\d{3}) ([a-z-]+)::(.+)$")
    got = set()
    for row in rows:
        m = pattern.match(row)
        assert m, row
        got.add((int(m[2]), m[4], m[5], m[1]))
    assert got == EXPECTED
    assert "::error file=bad.jsonl,line=3,col=48,title=IN100 invalid-json::Expecting" in done.stdout


def test_github_escapes_paths_and_messages(tmp_path: Path) -> None:
    (tmp_path / "a,b%.jsonl").write_bytes(b'{"messages": [{"role": "user", "content": "hi"}]\n')
    done = intone("lint", "--no-cache", "--format", "github", "a,b%.jsonl", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith("::error file=a%2Cb%25.jsonl,line=1,")
    assert all(row.startswith("::") for row in done.stdout.splitlines())


def test_sarif_has_the_shape_github_code_scanning_accepts(bad: Path) -> None:
    done = lint(bad, "--format", "sarif")
    assert done.returncode == 1
    sarif = json.loads(done.stdout)
    assert sarif["version"] == "2.1.0"
    assert "sarif" in sarif["$schema"] and "2.1.0" in sarif["$schema"]
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "intone" and driver["version"]
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [r.code for r in RULES]
    for rule in rules:
        assert rule["name"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    results = run["results"]
    assert len(results) == len(EXPECTED)
    levels = {"error": "error", "warning": "warning", "info": "note"}
    got = set()
    for result in results:
        assert result["level"] in ("error", "warning", "note", "none")
        assert result["message"]["text"]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert 1 <= len(result["locations"]) <= 10
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "bad.jsonl"  # relative to the checkout
        region = physical["region"]
        assert region["startLine"] >= 1 and region.get("startColumn", 1) >= 1
        for related in result.get("relatedLocations", []):
            assert related["physicalLocation"]["region"]["startLine"] >= 1 and related["message"]["text"]
        name = rules[result["ruleIndex"]]["name"]
        got.add((region["startLine"], result["ruleId"], name, next(k for k, v in levels.items() if v == result["level"])))
    assert got == EXPECTED


def test_sarif_absolute_paths_are_file_uris(bad: Path) -> None:
    done = intone("lint", "--no-cache", "--format", "sarif", str(bad / "bad.jsonl"), cwd=bad)
    uri = json.loads(done.stdout)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == (bad / "bad.jsonl").as_uri()


def test_format_from_config(bad: Path) -> None:
    (bad / "intone.toml").write_text('format = "json"\n', "utf-8")
    assert set(json.loads(lint(bad).stdout)) == {"diagnostics", "summary"}
    assert lint(bad, "--format", "github").stdout.startswith("::")
