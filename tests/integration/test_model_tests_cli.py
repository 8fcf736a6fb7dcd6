"""``mlc models test DIR``: the model folder's own tests in its environment, as the deploy
process runs them, from the command line (exit 0 passed, 1 failed or could not run)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mlc.cli import main
from tests.support.model_packages import EXAMPLE, FAILING_TEST, PASSING_TEST, PINNED_A, copy_model


@pytest.fixture
def cli(tmp_path, monkeypatch, model_envs):
    monkeypatch.setenv("MLC_DATABASE_URL", f"sqlite:///{tmp_path / 'mlc.db'}")
    monkeypatch.setenv("MLC_CONFIG", "/nonexistent/mlc.toml")
    monkeypatch.setenv("MLC_MODEL_ENVS", str(model_envs.root))
    runner = CliRunner()
    return lambda *args: runner.invoke(main, ["models", "test", *map(str, args)])


def test_the_examples_tests_pass_in_their_own_environments(cli, tmp_path):
    for name, pin in (("churn", "tabulate==0.8.10"), ("churn_v2", "tabulate==0.10.0")):
        folder = copy_model(EXAMPLE / name, tmp_path / name)
        answer = cli(folder, "--json")
        assert answer.exit_code == 0, answer.output
        report = json.loads(answer.stdout)
        assert (report["status"], report["passed"], report["failed"]) == ("passed", 3, 0)
        assert report["environment"]["requirements"] == [pin]
        assert "running test_model.py with" in answer.stderr


def test_a_failing_test_exits_1_with_its_output(cli, tmp_path):
    folder = copy_model(PINNED_A, tmp_path, test_file=FAILING_TEST)
    answer = cli(folder)
    assert answer.exit_code == 1
    assert answer.stdout.startswith("failed: 1 passed, 1 failed in ")
    assert "--- test_model::test_knows_the_answer (failure)" in answer.stdout
    assert "the answer is wrong" in answer.stdout
    assert "Traceback (most recent call last)" not in answer.stderr


def test_without_requirements_the_tests_run_in_the_engines_environment(cli, tmp_path):
    folder = copy_model(PINNED_A, tmp_path, test_file=PASSING_TEST)
    (folder / "requirements.model").unlink()
    (folder / "model.py").write_text(
        "import pandas as pd\n\n\ndef predict(df):\n"
        "    return pd.DataFrame({'prediction': (df['f0'] > 0).astype('int64')})\n")
    answer = cli(folder, "--json")
    assert answer.exit_code == 0, answer.output
    report = json.loads(answer.stdout)
    assert report["environment"] is None and report["passed"] == 1


def test_errors_name_the_problem(cli, tmp_path):
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    answer = cli(not_a_model)
    assert answer.exit_code == 1 and "is not a model folder with model.py and test_model.py" \
        in answer.output
    broken = copy_model(PINNED_A, tmp_path / "b", test_file="import nothing_here\n\n"
                        "def test_x():\n    pass\n")
    answer = cli(broken)
    assert answer.exit_code == 1
    assert "error: tests could not run" in answer.stdout
    assert "nothing_here" in answer.output
    ranged = copy_model(PINNED_A, tmp_path / "r", test_file=PASSING_TEST)
    (ranged / "requirements.model").write_text("tabulate>=0.8\n")
    answer = cli(ranged)
    assert answer.exit_code == 1 and "'tabulate>=0.8' is not pinned" in answer.output
