"""DMN TCK compliance level 2: one pytest case per testCase of every test-case file."""

from __future__ import annotations

import pytest

from engine.dmn import load_dmn
from tests.tck.tck_cases import LEVEL_2, TckCase, all_cases, same_value

CASES = all_cases()

if not CASES:
    pytest.skip(f"DMN TCK not found at {LEVEL_2} (clone it beside the project as "
                "../shared/dmn-tck to run the compliance suite)", allow_module_level=True)


@pytest.mark.parametrize("case", CASES, ids=[c.case_id for c in CASES])
def test_tck_case(case: TckCase) -> None:
    definitions = load_dmn(case.model.read_bytes(), case.model.name)
    for node in case.results:
        result = definitions.evaluate(node.name, case.inputs, strict=False)
        if node.error_result:
            assert result.value is None and result.errors, \
                f"{node.name}: expected an error result, got {result.value!r}"
            continue
        assert same_value(result.value, node.expected), (
            f"{node.name}: expected {node.expected!r}, got {result.value!r} "
            f"(errors: {result.errors})")
