"""Run the DMN TCK outside pytest: ``python -m tests.tck.run [--write-not-passing]``.

Prints the cases passed per compliance level and the time each level took; with
``--write-not-passing`` rewrites ``level3-not-passing.txt`` from this run (each case that
does not pass, with the reason it gave).
"""

from __future__ import annotations

import argparse
import time

from tests.tck.tck_cases import LEVELS, NOT_PASSING, all_cases, models_in, run_case


def run_level(level: int) -> tuple[int, int, float, dict[str, str]]:
    """(passed, total, seconds, {case id: reason} of those that did not pass)."""
    models_in.cache_clear()
    start = time.perf_counter()
    cases = all_cases(level)
    failures = {}
    for case in cases:
        reason = run_case(case)
        if reason is not None:
            failures[case.case_id] = reason
    return len(cases) - len(failures), len(cases), time.perf_counter() - start, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-not-passing", action="store_true")
    args = parser.parse_args()
    for level in LEVELS:
        passed, total, seconds, failures = run_level(level)
        if not total:
            print(f"level {level}: TCK not found at {LEVELS[level]}")
            continue
        print(f"level {level}: {passed} of {total} cases pass ({seconds:.1f} s)")
        if level == 3 and args.write_not_passing:
            lines = ["# DMN TCK compliance level 3: the cases that do not pass, and why.",
                     "# Written by `python -m tests.tck.run --write-not-passing`; "
                     "tests/tck checks it is current.", ""]
            lines += [f"{case_id}  {reason}" for case_id, reason in sorted(failures.items())]
            NOT_PASSING.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
