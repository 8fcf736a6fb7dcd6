"""Print how many TCK cases pass per compliance level at the end of a run."""

from __future__ import annotations

import re
from collections import Counter

_LEVEL = re.compile(r"test_tck_case\[level(\d)/")


def pytest_terminal_summary(terminalreporter) -> None:
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
