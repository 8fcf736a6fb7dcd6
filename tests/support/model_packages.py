"""Model folders for the model-package tests: the fixtures' pinned models and the worked
example's churn models, copied where a test may change them."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "model_packages"
PINNED_A, PINNED_B = FIXTURES / "pinned_a", FIXTURES / "pinned_b"  # tabulate 0.8.10 / 0.10.0
EXAMPLE = ROOT / "examples" / "model_packages" / "models"

PASSING_TEST = '''
import pandas as pd
import model


def test_predicts_one_row_per_record():
    assert len(model.predict(pd.DataFrame({"f0": [1.0, -1.0]}))) == 2
'''

FAILING_TEST = PASSING_TEST + '''

def test_knows_the_answer():
    assert 6 * 7 == 43, "the answer is wrong"
'''


def copy_model(source: Path, target: Path, test_file: str | None = None) -> Path:
    """A copy of a model folder (with the example's ``common`` beside it when it is one of
    the example's), its test_model.py replaced by ``test_file`` when given."""
    target.mkdir(parents=True, exist_ok=True)
    folder = target / source.name
    shutil.copytree(source, folder)
    if source.parent == EXAMPLE:
        shutil.copytree(EXAMPLE / "common", target / "common")
    if test_file is not None:
        (folder / "test_model.py").write_text(test_file)
    return folder
