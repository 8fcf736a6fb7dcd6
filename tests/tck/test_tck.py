"""DMN TCK compliance levels 2 and 3: one pytest case per testCase of every test-case file.

A case listed in ``level3-not-passing.txt`` is expected to fail (strictly: once it passes,
the list must lose it). The totals per level are printed at the end of the run
(``summary.py``, hooked in ``tests/conftest.py``).
"""

from __future__ import annotations

import pytest

from tests.tck.tck_cases import LEVELS, TckCase, all_cases, not_passing_list, run_case

CASES = [case for level in LEVELS for case in all_cases(level)]
NOT_PASSING = not_passing_list()

if not CASES:
    pytest.skip(f"DMN TCK not found at {LEVELS[2].parent} (clone it beside the project as "
                "../shared/dmn-tck to run the compliance suite)", allow_module_level=True)


def _param(case: TckCase):
    reason = NOT_PASSING.get(case.case_id) if case.level == 3 else None
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=f"level{case.level}/{case.case_id}", marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_tck_case(case: TckCase) -> None:
    # Level 2 also asks that every error result comes with a reported error.
    reason = run_case(case, require_errors=case.level == 2)
    assert reason is None, reason


def test_not_passing_list_names_only_existing_cases() -> None:
    known = {case.case_id for case in CASES if case.level == 3}
    assert set(NOT_PASSING) <= known, sorted(set(NOT_PASSING) - known)
