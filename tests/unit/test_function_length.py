"""No function of the product runs over 80 lines unless its docstring says why (a paragraph
starting "Long because"): a longer one is read in pieces, and usually has pieces to split."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "connectors", "web", "mlc")
MAX_LINES = 80


def too_long(source: str, filename: str = "<source>") -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            reason = "Long because" in (ast.get_docstring(node) or "")
            if length > MAX_LINES and not reason:
                found.append(f"{filename}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_the_rule_counts_lines_and_reads_the_reason():
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES))
    assert too_long(f"def f():\n{body}") == ["<source>:1 f (81 lines)"]
    assert too_long(f"def f():\n    '''Long because a table.'''\n{body}") == []
    assert too_long(f"def f():\n{body[:-len('    x79 = 79')-1]}") == []


def test_no_function_is_too_long_without_a_reason():
    assert [problem for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
            for problem in too_long(path.read_text(), str(path.relative_to(ROOT)))] == []
