"""SARIF 2.1.0, shaped for GitHub code scanning (`github/codeql-action/upload-sarif`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import intone

if TYPE_CHECKING:
    from intone.lint.engine import LintResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _uri(path: str) -> str:
    p = Path(path)
    return p.as_posix() if not p.is_absolute() else p.as_uri()


def render(result: LintResult, out: TextIO) -> None:
    from intone.lint.rules import RULES

    rules = list(RULES)
    index = {r.code: i for i, r in enumerate(rules)}
    driver_rules = [
        {
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {
                "text": r.doc().split("## Why is this bad?")[0].replace("## What it does", "").strip()
            },
            "help": {"text": r.doc(), "markdown": r.doc()},
            "defaultConfiguration": {"level": _LEVEL[r.severity]},
            "properties": {"tags": [r.name]},
        }
        for r in rules
    ]
    results: list[dict[str, Any]] = []
    for d in result.diagnostics:
        region: dict[str, int] = {"startLine": d.line or 1}
        if d.column:
            region["startColumn"] = d.column
        item: dict[str, Any] = {
            "ruleId": d.code,
            "level": _LEVEL[d.severity],
            "message": {"text": d.message + (f" Fix: {d.fix}" if d.fix else "")},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": _uri(d.path)}, "region": region}}
            ],
        }
        if d.code in index:
            item["ruleIndex"] = index[d.code]
        if d.related:
            item["relatedLocations"] = [
                {
                    "id": i,
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(d.path)},
                        "region": {"startLine": line},
                    },
                    "message": {"text": f"related line {line}"},
                }
                for i, line in enumerate(d.related)
            ]
        results.append(item)
    sarif = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "intone",
                        "version": intone.__version__,
                        "informationUri": "https://pypi.org/project/intone/",
                        "rules": driver_rules,
                    }
                },
                "results": results,
            }
        ],
    }
    json.dump(sarif, out, ensure_ascii=False, indent=2)
    out.write("\n")
