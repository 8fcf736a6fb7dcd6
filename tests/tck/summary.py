"""How many TCK cases passed per compliance level, for the end of a pytest run.

Registered by the root ``tests/conftest.py``: with pytest-xdist only the conftest files of the
paths given on the command line are loaded by the process that prints the summary."""

from __future__ import annotations

import re
from collections import Counter

_LEVEL = re.compile(r"test_tck_case\[level(\d)/")


def print_totals(terminalreporter) -> None:
    passed, total = Counter(), Counter()
    for outcome in ("passed", "failed", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(outcome, []):
            match = _LEVEL.search(getattr(report, "nodeid", ""))
            if match is None or getattr(report, "when", "call") != "call":
                continue
            total[match[1]] += 1
            passed[match[1]] += outcome in ("passed", "xpassed")
    for level in sorted(total):
        terminalreporter.write_line(
            f"DMN TCK compliance level {level}: {passed[level]} of {total[level]} cases pass")
