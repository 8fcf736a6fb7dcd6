"""Training, metrics and scoring jobs with the sample model, and how bad models fail."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from connectors.jobs import JobService, ScoringOptions
from connectors.jobs.locations import DataStore
from connectors.registry import JobStore
from connectors.samples import FEATURES, sample_frame
from tests.support.jobs import (  # noqa: F401 - fixtures
    IDENTITY_MODEL,
    data_root,
    jobs,
    model_pool,
    registry,
    sample,
    signals,
    write_model,
)


def test_training_adds_a_new_artifact_version_and_records_metrics(jobs, registry, sample):
    _, snapshot, _ = sample
    first = jobs.train(snapshot.id)
    second = jobs.train(snapshot.id, params={"C": 0.5})
    assert first.state == "succeeded", first.reason
    assert second.state == "succeeded", second.reason
    assert first.metrics["rows"] == 800 and 0.7 < first.metrics["train_accuracy"] <= 1
    artifacts = [a for a in registry.get_snapshot(snapshot.id).assets if a.role == "ARTIFACT"]
    assert [a.version for a in artifacts] == [1, 2]
    assert second.outputs["artifact_version"] == 2
    assert "trained on 800 rows" in first.log_tail


def test_metrics_job_stores_classification_metrics_on_job_and_snapshot(jobs, registry, sample):
    _, snapshot, _ = sample
    job = jobs.run_metrics(snapshot.id)
    assert job.state == "succeeded", job.reason
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert 0.5 < job.metrics[name] <= 1.0, name
    matrix = job.metrics["confusion_matrix"]
    assert matrix["labels"] == [0, 1]
    assert sum(map(sum, matrix["matrix"])) == 200
    stored = registry.get_snapshot(snapshot.id).test_results
    assert stored["accuracy"] == job.metrics["accuracy"] and stored["job_id"] == job.id


def test_metrics_job_computes_regression_metrics(jobs, registry, data_root, tmp_path):
    model = registry.register_model("price", "regression")
    source = write_model(tmp_path / "reg", """
        import pandas as pd
        def predict(df):
            return df["x"] * 2.0
    """)
    pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "label": [2.0, 4.0, 6.0, 9.0]}).to_csv(
        data_root / "reg.csv", index=False)
    snapshot = registry.create_snapshot(model.id, source)
    job = jobs.run_metrics(snapshot.id, input_uri=str(data_root / "reg.csv"))
    assert job.state == "succeeded", job.reason
    assert job.metrics["mae"] == pytest.approx(0.25)
    assert job.metrics["rmse"] == pytest.approx(0.5)
    assert set(job.metrics) == {"rmse", "mae", "r2"}


def test_metrics_job_without_label_column_fails_with_reason(jobs, sample, data_root):
    _, snapshot, _ = sample
    sample_frame(20, with_label=False).to_csv(data_root / "nolabel.csv", index=False)
    job = jobs.run_metrics(snapshot.id, input_uri=str(data_root / "nolabel.csv"))
    assert job.state == "failed"
    assert "no label column 'label'" in job.reason


@pytest.mark.parametrize("fmt,ext", [("csv", ".csv"), ("parquet", ".parquet"),
                                     ("feather", ".feather")])
def test_scoring_each_format_writes_one_output_per_input(jobs, sample, data_root, fmt, ext):
    _, snapshot, _ = sample
    inputs = data_root / f"in-{fmt}"
    inputs.mkdir()
    for i in range(3):
        frame = sample_frame(50, seed=i, with_label=False)
        {"csv": lambda p, f=frame: f.to_csv(p, index=False), "parquet": frame.to_parquet,
         "feather": frame.to_feather}[fmt](inputs / f"part-{i}{ext}")
    (inputs / "notes.txt").write_text("not data")
    job = jobs.score(snapshot.id, str(inputs), str(data_root / f"out-{fmt}"),
                     ScoringOptions(parallelism=2))
    assert job.state == "succeeded", job.reason
    written = sorted(p.name for p in (data_root / f"out-{fmt}").iterdir())
    assert written == [f"part-{i}{ext}" for i in range(3)]
    reader = {"csv": pd.read_csv, "parquet": pd.read_parquet, "feather": pd.read_feather}[fmt]
    out = reader(data_root / f"out-{fmt}" / f"part-0{ext}")
    assert list(out.columns) == ["prediction", "score"] and len(out) == 50
    assert job.outputs["files_done"] == 3 and job.outputs["rows"] == 150
    assert job.metrics["rows"] == 150


def test_scoring_converts_format_keeping_the_name(jobs, sample, data_root):
    _, snapshot, paths = sample
    job = jobs.score(snapshot.id, f"file://{paths['test']}", str(data_root / "conv"),
                     ScoringOptions(output_format="parquet"))
    assert job.state == "succeeded", job.reason
    assert len(pd.read_parquet(data_root / "conv" / "test.parquet")) == 200


def test_scoring_refuses_existing_outputs_unless_overwrite(jobs, sample, data_root):
    _, snapshot, paths = sample
    out = data_root / "out"
    out.mkdir()
    (out / "test.csv").write_text("old\n")
    refused = jobs.score(snapshot.id, str(paths["test"]), str(out))
    assert refused.state == "failed" and "output already exists" in refused.reason
    assert (out / "test.csv").read_text() == "old\n"
    replaced = jobs.score(snapshot.id, str(paths["test"]), str(out),
                          ScoringOptions(overwrite=True))
    assert replaced.state == "succeeded", replaced.reason
    assert len(pd.read_csv(out / "test.csv")) == 200
    assert replaced.outputs["overwritten"] == [str(out / "test.csv")]


@pytest.mark.parametrize("raw", ["../../etc/passwd", "/etc/passwd", "file:///etc/passwd"])
def test_scoring_refuses_paths_outside_the_data_roots(jobs, sample, data_root, raw):
    _, snapshot, _ = sample
    job = jobs.score(snapshot.id, raw, str(data_root / "out"))
    assert job.state == "failed"
    assert "refused" in job.reason and "outside MLC_DATA_ROOTS" in job.reason
    assert repr(raw) in job.reason


def test_scoring_refuses_a_symlink_leading_out_of_the_root(jobs, sample, data_root, tmp_path):
    _, snapshot, _ = sample
    outside = tmp_path / "outside"
    outside.mkdir()
    sample_frame(5, with_label=False).to_csv(outside / "x.csv", index=False)
    (data_root / "link").symlink_to(outside)
    job = jobs.score(snapshot.id, str(data_root / "link" / "x.csv"), str(data_root / "o"))
    assert job.state == "failed" and "outside MLC_DATA_ROOTS" in job.reason


def test_a_model_that_sleeps_past_file_timeout_fails_the_execution(jobs, registry, data_root,
                                                                     tmp_path):
    model = registry.register_model("slow", "classification")
    source = write_model(tmp_path / "slow", """
        import time
        import pandas as pd
        def predict(df):
            print("going to sleep", flush=True)
            time.sleep(60)
            return pd.Series([0] * len(df))
    """)
    snapshot = registry.create_snapshot(model.id, source)
    sample_frame(5, with_label=False).to_csv(data_root / "in.csv", index=False)
    job = jobs.score(snapshot.id, str(data_root / "in.csv"), str(data_root / "out"),
                     ScoringOptions(file_timeout=2))
    assert job.state == "failed"
    assert job.reason == "file in.csv exceeded file_timeout of 2s"
    assert "going to sleep" in job.log_tail
    assert not (data_root / "out" / "in.csv").exists()


def test_job_timeout_bounds_the_whole_job(jobs, registry, data_root, tmp_path):
    model = registry.register_model("slow-load", "classification")
    source = write_model(tmp_path / "slowload", """
        import time
        def init(artifact_dir):
            time.sleep(60)
        def predict(df):
            return df.iloc[:, 0]
    """)
    snapshot = registry.create_snapshot(model.id, source)
    sample_frame(5, with_label=False).to_csv(data_root / "in.csv", index=False)
    job = jobs.score(snapshot.id, str(data_root / "in.csv"), str(data_root / "out"),
                     ScoringOptions(job_timeout=0.5))
    assert job.state == "failed"
    assert job.reason == "the job exceeded its job_timeout of 0.5s (while loading the model)"


def test_a_model_that_raises_fails_cleanly_with_its_error(jobs, registry, data_root, tmp_path):
    model = registry.register_model("broken", "classification")
    source = write_model(tmp_path / "broken", """
        def predict(df):
            raise RuntimeError("feature f9 missing")
    """)
    snapshot = registry.create_snapshot(model.id, source)
    sample_frame(5, with_label=False).to_csv(data_root / "in.csv", index=False)
    job = jobs.score(snapshot.id, str(data_root / "in.csv"), str(data_root / "out"))
    assert job.state == "failed"
    assert job.reason == "scoring in.csv: RuntimeError: feature f9 missing"
    assert "Traceback" in job.log_tail


def test_a_model_that_kills_its_process_does_not_take_the_worker_down(jobs, registry,
                                                                        data_root, tmp_path):
    model = registry.register_model("crash", "classification")
    source = write_model(tmp_path / "crash", """
        import os
        def predict(df):
            os._exit(7)
    """)
    snapshot = registry.create_snapshot(model.id, source)
    sample_frame(5, with_label=False).to_csv(data_root / "in.csv", index=False)
    job = jobs.score(snapshot.id, str(data_root / "in.csv"), str(data_root / "out"))
    assert job.state == "failed"
    assert "exited with code 7" in job.reason


def test_a_model_without_model_py_fails_with_reason(jobs, registry, data_root, tmp_path):
    model = registry.register_model("empty", "classification")
    (tmp_path / "empty").mkdir()
    snapshot = registry.create_snapshot(model.id, str(tmp_path / "empty"))
    sample_frame(5, with_label=False).to_csv(data_root / "in.csv", index=False)
    job = jobs.score(snapshot.id, str(data_root / "in.csv"), str(data_root / "out"))
    assert job.state == "failed" and "no model.py" in job.reason


def test_predict_with_wrong_row_count_is_refused(jobs, registry, data_root, tmp_path):
    model = registry.register_model("short", "classification")
    source = write_model(tmp_path / "short", """
        def predict(df):
            return df.iloc[:1, 0]
    """)
    snapshot = registry.create_snapshot(model.id, source)
    sample_frame(5, with_label=False).to_csv(data_root / "in.csv", index=False)
    job = jobs.score(snapshot.id, str(data_root / "in.csv"), str(data_root / "out"))
    assert job.state == "failed" and "1 rows for 5 input rows" in job.reason


def test_a_retry_of_the_same_task_returns_the_recorded_job(jobs, sample, data_root):
    _, snapshot, paths = sample
    first = jobs.score(snapshot.id, str(paths["test"]), str(data_root / "o"),
                       idempotency_key="task-1")
    again = jobs.score(snapshot.id, str(paths["test"]), str(data_root / "o"),
                       idempotency_key="task-1")
    assert first.state == "succeeded" and again.id == first.id
    assert len(jobs.list(job_type="scoring")) == 1


def test_scoring_progress_callback_counts_files(jobs, sample, data_root):
    _, snapshot, _ = sample
    folder = data_root / "many"
    folder.mkdir()
    for i in range(4):
        sample_frame(10, seed=i, with_label=False).to_parquet(folder / f"{i}.parquet")
    seen = []
    job = jobs.score(snapshot.id, str(folder), str(data_root / "o"),
                     ScoringOptions(parallelism=2),
                     progress=lambda done, total, rows: seen.append((done, total, rows)))
    assert job.state == "succeeded", job.reason
    assert seen[0] == (0, 4, 0) and seen[-1] == (4, 4, 40)
    assert [d for d, _, _ in seen] == [0, 1, 2, 3, 4]
    assert FEATURES[0] == "f0"


def test_a_retry_waits_for_the_lease_of_an_attempt_whose_worker_was_killed(
        database, registry, sample, data_root, model_pool):
    """The worker running the job died (no one renews its lease) and the task's lock, shorter
    than the lease, ran out: the retry waits for the lease instead of failing the task."""
    _, snapshot, paths = sample
    store = JobStore(database, lease_seconds=2)
    jobs = JobService(registry, store, DataStore([str(data_root)]), pool=model_pool)
    dead = store.create("metrics", snapshot_id=snapshot.id, model_id=snapshot.model_id,
                        inputs={}, idempotency_key="task-k")
    store.start(dead.id, None)  # running, lease 2 s, and nobody renews it any more
    began = time.monotonic()
    job = jobs.run_metrics(snapshot.id, input_uri=str(paths["test"]),
                           idempotency_key="task-k")
    assert job.state == "succeeded" and job.id != dead.id
    assert time.monotonic() - began >= 1.0  # it waited for the lease
    assert store.get(dead.id).state == "failed" and store.get(dead.id).reason == "abandoned"


def test_a_retry_returns_the_outcome_of_an_attempt_that_finishes_while_it_waits(
        database, registry, sample, data_root, model_pool):
    _, snapshot, paths = sample
    store = JobStore(database, lease_seconds=30)
    jobs = JobService(registry, store, DataStore([str(data_root)]), pool=model_pool)
    alive = store.create("metrics", snapshot_id=snapshot.id, model_id=snapshot.model_id,
                         inputs={}, idempotency_key="task-j")
    store.start(alive.id, None)
    threading.Timer(1.5, lambda: store.finish(alive.id, succeeded=True,
                                              metrics={"accuracy": 0.5})).start()
    job = jobs.run_metrics(snapshot.id, input_uri=str(paths["test"]),
                           idempotency_key="task-j")
    assert job.id == alive.id and job.metrics == {"accuracy": 0.5}
    assert len(jobs.list(job_type="metrics")) == 1
