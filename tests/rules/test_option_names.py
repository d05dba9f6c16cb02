"""A rule reads only the options it declares: a misspelt `self.opt["..."]` fails here, not at run time."""

from __future__ import annotations

import ast
import inspect
import textwrap

from intone.lint.rules import RULES


def _read_options(classes) -> set[str]:
    """The option names these classes read as `self.opt["name"]` in their source."""
    names: set[str] = set()
    for klass in classes:
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "opt"
                    and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
                names.add(node.slice.value)
    return names


def test_every_option_a_rule_reads_is_declared():
    read_any = False
    for cls in RULES:
        declared = {opt.name for opt in cls.options}
        read = _read_options(k for k in cls.__mro__ if k.__module__.startswith("intone.lint.rules"))
        read_any = read_any or bool(read)
        assert read <= declared, f"{cls.name} reads undeclared option(s) {sorted(read - declared)}"
    assert read_any  # the scan finds the rules' option reads at all


class _Misspelt:
    def check(self, *args):
        return self.opt["min_z"]  # style-drift's option is "min-z"


def test_the_scan_catches_a_misspelt_option():
    declared = {opt.name for opt in RULES.by_name("style-drift").options}
    assert "min-z" in declared
    assert _read_options([_Misspelt]) - declared == {"min_z"}
