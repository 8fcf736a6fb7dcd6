"""Model environments for real: built by uv from the machine's cache (PyPI behind it), one per
requirements.model content, used by scoring, metrics and online prediction, each model
seeing its own pins; a failed install is a job failure that names the requirement."""

from __future__ import annotations

import importlib.util
import threading
import time

import pandas as pd
import pytest

from connectors.jobs import DataStore, JobService, ScoringOptions
from connectors.jobs._process import ModelProcess
from connectors.packages import EnvironmentBuildError, ModelEnvironments, read_requirements
from connectors.registry import JobStore, SqlModelRegistry
from connectors.serving import OnlinePredictor
from connectors.serving._predictor import ModelFailed
from engine.errors import ValidationError
from tests.support.jobs import data_root, model_pool  # noqa: F401
from tests.support.model_packages import PINNED_A, PINNED_B, copy_model


@pytest.fixture
def registry(sqlite_database) -> SqlModelRegistry:
    """SQLite only: these tests are about environments; the registry's SQL is tested on
    both back ends elsewhere."""
    return SqlModelRegistry(sqlite_database)


@pytest.fixture
def jobs(sqlite_database, registry, data_root, model_pool, model_envs) -> JobService:
    return JobService(registry, JobStore(sqlite_database), DataStore([str(data_root)]),
                      pool=model_pool, environments=model_envs)


def _frame(rows: int = 6) -> pd.DataFrame:
    return pd.DataFrame({"f0": [i - rows / 2 + 0.5 for i in range(rows)],
                         "label": [int(i >= rows / 2) for i in range(rows)]})


def test_two_models_with_conflicting_pins_score_side_by_side(jobs, registry, data_root):
    _frame().to_csv(data_root / "in.csv", index=False)
    snapshots = {}
    for folder in (PINNED_A, PINNED_B):
        model = registry.register_model(folder.name, "classification")
        snapshots[folder.name] = registry.create_snapshot(model.id, str(folder), assets=[
            {"role": "TEST_DATA", "uri": str(data_root / "in.csv"), "format": "csv"}])
    results = {}

    def score(name: str) -> None:
        results[name] = jobs.score(snapshots[name].id, str(data_root / "in.csv"),
                                   str(data_root / f"out-{name}.csv"))

    threads = [threading.Thread(target=score, args=(name,)) for name in snapshots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for name, version in (("pinned_a", "0.8.10"), ("pinned_b", "0.10.0")):
        job = results[name]
        assert job.state == "succeeded", job.reason
        scored = pd.read_csv(data_root / f"out-{name}.csv", dtype={"tabulate": str})
        assert set(scored["tabulate"]) == {version}, name
        environment = job.outputs["environment"]
        assert environment["requirements"] == [f"tabulate=={version}"]
        assert environment["installer"] == "uv"
        assert f"environment {environment['key'][:24]}" in job.log_tail
        assert [f["status"] for f in job.outputs["files"]] == ["ok"]
    assert results["pinned_a"].outputs["environment"]["key"] != \
        results["pinned_b"].outputs["environment"]["key"]
    # neither pin leaked into the engine's own environment
    assert importlib.util.find_spec("tabulate") is None

    metrics = jobs.run_metrics(snapshots["pinned_a"].id)  # another job type, the same env
    assert metrics.state == "succeeded", metrics.reason
    assert metrics.metrics["accuracy"] == 1.0
    assert metrics.outputs["environment"]["cached"] is True
    assert metrics.outputs["environment"]["key"] == \
        results["pinned_a"].outputs["environment"]["key"]
    assert "reusing the one built" in metrics.log_tail


def test_a_failed_install_fails_the_job_naming_the_requirement(jobs, registry, data_root,
                                                               tmp_path, model_envs):
    folder = copy_model(PINNED_A, tmp_path)
    (folder / "requirements.model").write_text("pandas==2.2.3\ntabulate==99.0.0\n")
    _frame().to_csv(data_root / "in.csv", index=False)
    model = registry.register_model("broken-pins", "classification")
    snapshot = registry.create_snapshot(model.id, str(folder))
    job = jobs.score(snapshot.id, str(data_root / "in.csv"), str(data_root / "out.csv"))
    assert job.state == "failed"
    assert "installing requirements.model failed at 'tabulate==99.0.0' (line 2)" in job.reason
    assert "tabulate" in job.log_tail  # the installer's own output is kept with the job
    assert not model_envs.path_for(read_requirements(folder)).exists()
    assert not (data_root / "out.csv").exists()


def test_a_requirements_file_with_a_range_fails_the_job_naming_the_line(jobs, registry,
                                                                        data_root, tmp_path):
    folder = copy_model(PINNED_A, tmp_path)
    (folder / "requirements.model").write_text("tabulate>=0.8\n")
    _frame().to_csv(data_root / "in.csv", index=False)
    snapshot = registry.create_snapshot(registry.register_model("ranged", "regression").id,
                                        str(folder))
    job = jobs.score(snapshot.id, str(data_root / "in.csv"), str(data_root / "out.csv"),
                     ScoringOptions())
    assert job.state == "failed"
    assert job.reason == ("requirements.model line 1: 'tabulate>=0.8' is not pinned "
                          "(write tabulate==VERSION)")


def test_concurrent_builds_of_one_environment_build_it_once(tmp_path):
    environments = ModelEnvironments(tmp_path / "envs")
    folder = copy_model(PINNED_A, tmp_path / "m")
    built, logs = [], [[] for _ in range(3)]

    def ensure(index: int) -> None:
        built.append(environments.for_model(folder, log=logs[index].append))

    threads = [threading.Thread(target=ensure, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e.cached for e in built) == [False, True, True]
    assert len({e.path for e in built}) == 1
    assert [p.name for p in (tmp_path / "envs").iterdir() if not p.name.startswith(".")] == \
        [built[0].path.name]
    assert sum("another job is building it" in " ".join(log) for log in logs) >= 1
    process = ModelProcess(str(built[0].python), isolated=True)
    try:
        process.call({"op": "load", "model_dir": str(folder), "artifact_dir": None}, 120,
                     "loading")
        answer = process.call({"op": "predict_records", "records": [{"f0": 1.0}]}, 60, "p")
    finally:
        process.close()
    assert answer["predictions"] == [{"prediction": 1, "tabulate": "0.8.10"}]


def test_online_prediction_runs_in_the_models_environment(registry, model_envs):
    runtime = registry.add_runtime("online", "DEV", endpoints=["http://127.0.0.1:9/p"])
    deployments = {}
    for folder in (PINNED_A, PINNED_B):
        snapshot = registry.create_snapshot(
            registry.register_model(folder.name, "classification").id, str(folder))
        deployments[folder.name] = registry.deploy(snapshot.id, runtime.id)
    predictor = OnlinePredictor(registry, environments=model_envs)
    try:
        assert predictor.predict(deployments["pinned_a"].id, [{"f0": 2.0}, {"f0": -1.0}]) == [
            {"prediction": 1, "tabulate": "0.8.10"}, {"prediction": 0, "tabulate": "0.8.10"}]
        assert predictor.predict(deployments["pinned_b"].id, [{"f0": 2.0}]) == [
            {"prediction": 1, "tabulate": "0.10.0"}]
        with pytest.raises(ValidationError, match="rejected the records: KeyError"):
            predictor.predict(deployments["pinned_a"].id, [{"x": 1}])
        with pytest.raises(ModelFailed, match="the model failed: RuntimeError: the model broke"):
            predictor.predict(deployments["pinned_a"].id, [{"f0": 1.0, "boom": 1}])
        assert predictor.predict(deployments["pinned_a"].id, [{"f0": 3.0}])[0]["prediction"] == 1
        assert predictor.loads == 2  # one process per deployment, kept across requests
    finally:
        predictor.close()


@pytest.mark.slow
def test_without_uv_the_environment_is_built_with_venv_and_pip(tmp_path):
    environments = ModelEnvironments(tmp_path / "envs", installer="pip")
    lines: list[str] = []
    environment = environments.for_model(PINNED_B, log=lines.append)
    assert environment.installer == "pip" and not environment.cached
    assert any("building with pip" in line for line in lines)
    process = ModelProcess(str(environment.python), isolated=True)
    try:
        process.call({"op": "load", "model_dir": str(PINNED_B), "artifact_dir": None}, 120,
                     "loading")
        answer = process.call({"op": "predict_records", "records": [{"f0": -1.0}]}, 60, "p")
    finally:
        process.close()
    assert answer["predictions"] == [{"prediction": 0, "tabulate": "0.10.0"}]


def test_an_unknown_installer_is_a_configuration_error(tmp_path):
    from engine.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="MLC_MODEL_ENV_INSTALLER must be one of"):
        ModelEnvironments(tmp_path, installer="conda")


def test_a_build_past_its_time_limit_fails_and_leaves_nothing(tmp_path):
    environments = ModelEnvironments(tmp_path / "envs", timeout=0.01)
    folder = copy_model(PINNED_A, tmp_path / "m")
    (folder / "requirements.model").write_text("tabulate==0.8.10\n# a fresh key\n")
    with pytest.raises(EnvironmentBuildError, match="exceeded its time limit"):
        environments.for_model(folder)
    assert [p for p in (tmp_path / "envs").iterdir() if not p.name.endswith(".lock")] == []


def test_the_predict_route_answers_status_ok_or_error(sqlite_database, model_envs, tmp_path):
    from tests.support.api import make_wired_app

    app = make_wired_app(sqlite_database, model_envs=str(model_envs.root),
                         artifact_store=str(tmp_path / "store"))
    client = app.test_client()
    try:
        registry = app.extensions["mlc_application"].services.registry
        runtime = registry.add_runtime("online", "DEV", endpoints=["http://127.0.0.1:9/p"])
        snapshot = registry.create_snapshot(
            registry.register_model("pinned", "classification").id, str(PINNED_A))
        deployment = registry.deploy(snapshot.id, runtime.id)

        def predict(records):
            return client.post(f"/api/deployed-models/{deployment.id}/predict",
                               json={"records": records})

        ok = predict([{"f0": 1.5}])
        assert ok.status_code == 200, ok.json
        assert ok.json == {"status": "ok", "deployed_model_id": deployment.id,
                           "predictions": [{"prediction": 1, "tabulate": "0.8.10"}]}
        for records, status, text in (
                ([{"f0": 1.0, "boom": 1}], 502, "RuntimeError: the model broke"),
                ([{"x": 1}], 400, "rejected the records: KeyError"),
                ("f0=1", 400, "")):
            answer = predict(records)
            assert answer.status_code == status, answer.json
            assert answer.json["status"] == "error" and text in answer.json["message"]
        assert predict([{"f0": -2.0}]).json["predictions"][0]["prediction"] == 0
    finally:
        app.extensions["mlc_application"].close()


def test_a_pool_keeps_warm_spares_for_the_environments_used_lately(model_envs, monkeypatch):
    from connectors.jobs import _process

    monkeypatch.setattr(_process, "ENV_SPARES", 1)
    pythons = [str(model_envs.for_model(folder).python) for folder in (PINNED_A, PINNED_B)]
    pool = _process.ProcessPool(spares=1)
    try:
        def run_once(python: str) -> None:
            [process] = pool.acquire(1, python)
            assert process.isolated and process.python == python
            pool.release([process])
            deadline = time.monotonic() + 120
            while pool.spare_count(python) < 1:
                assert time.monotonic() < deadline, "no spare was started"
                time.sleep(0.05)

        run_once(pythons[0])
        assert pool.spare_count(pythons[0]) == 1 and pool.spare_count() == 1
        [warm] = pool.acquire(1, pythons[0])
        assert pool.spare_count(pythons[0]) == 0
        try:
            warm.call({"op": "load", "model_dir": str(PINNED_A), "artifact_dir": None}, 120,
                      "loading")
            answer = warm.call({"op": "predict_records", "records": [{"f0": 2.0}]}, 60, "p")
            assert answer["predictions"] == [{"prediction": 1, "tabulate": "0.8.10"}]
        finally:
            pool.release([warm])
        while pool.spare_count(pythons[0]) < 1:  # its replacement, before the next env's
            time.sleep(0.05)
        run_once(pythons[1])  # the most recent environment pushes the older one out
        assert pool.spare_count(pythons[1]) == 1 and pool.spare_count(pythons[0]) == 0
    finally:
        pool.close()


def test_a_model_with_its_own_environment_is_refused_on_a_dask_runtime(jobs, registry,
                                                                      data_root):
    _frame().to_csv(data_root / "in.csv", index=False)
    runtime = registry.add_runtime("cluster", "DEV", engine="dask",
                                   scheduler="tcp://127.0.0.1:9")
    snapshot = registry.create_snapshot(registry.register_model("pinned", "classification").id,
                                        str(PINNED_A))
    job = jobs.score(snapshot.id, str(data_root / "in.csv"), str(data_root / "out.csv"),
                     runtime=runtime.id)
    assert job.state == "failed"
    assert job.reason == ("model pinned has a requirements.model, and Dask workers do not "
                          "build model environments yet: run it on a local runtime")
