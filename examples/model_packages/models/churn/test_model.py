"""The churn model's own tests: the deploy process runs them (tag ``run_test``) in the
model's environment before its metrics test; ``mlc models test models/churn`` runs them
locally the same way."""

import numpy as np
import pandas as pd
import tabulate

import model


def _frame(rows: int = 200, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 8))
    labels = (features[:, 0] + 0.5 * features[:, 1] > 0).astype(int)
    frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(8)])
    frame["label"] = labels
    return frame


def test_runs_with_the_pinned_tabulate():
    assert tabulate.__version__ == "0.8.10"


def test_trains_and_predicts_one_row_per_record(tmp_path):
    frame = _frame()
    metrics = model.train(frame, {"artifact_dir": str(tmp_path)})
    assert metrics["train_accuracy"] > 0.9
    model.init(str(tmp_path))
    answer = model.predict(frame.drop(columns=["label"]))
    assert list(answer.columns) == ["prediction", "score"] and len(answer) == len(frame)
    assert answer["score"].between(0, 1).all()


def test_default_weights_score_without_an_artifact():
    model.init(None)
    answer = model.predict(_frame(5).drop(columns=["label"]))
    assert set(answer["prediction"]) <= {0, 1}
