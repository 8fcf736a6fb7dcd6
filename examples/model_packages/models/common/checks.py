"""Checks both churn models' ``test_model.py`` make: shared test code lives in ``common`` like
shared model code."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pandas as pd


def churn_frame(rows: int = 200, seed: int = 7) -> pd.DataFrame:
    """Eight numeric features and a label that depends on the first two."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 8))
    frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(8)])
    frame["label"] = (features[:, 0] + 0.5 * features[:, 1] > 0).astype(int)
    return frame


def check_trains_and_predicts(model: ModuleType, artifact_dir: str) -> None:
    frame = churn_frame()
    metrics = model.train(frame, {"artifact_dir": artifact_dir})
    assert metrics["train_accuracy"] > 0.9
    model.init(artifact_dir)
    answer = model.predict(frame.drop(columns=["label"]))
    assert list(answer.columns) == ["prediction", "score"] and len(answer) == len(frame)
    assert answer["score"].between(0, 1).all()


def check_default_weights(model: ModuleType) -> None:
    model.init(None)
    answer = model.predict(churn_frame(5).drop(columns=["label"]))
    assert set(answer["prediction"]) <= {0, 1}
