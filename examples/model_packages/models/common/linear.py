"""A small logistic regression in numpy: standardise, fit by gradient descent, score.

Shared by ``churn`` and ``churn_v2`` (:class:`LinearModel`); each model folder imports it as
``common.linear`` (the engine puts the folder above a model folder on its import path).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd


def fit(features: np.ndarray, labels: np.ndarray, *, steps: int = 400,
        rate: float = 0.5, l2: float = 1e-3) -> dict:
    """Weights for P(label == 1); the returned dict is JSON-serialisable."""
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-12
    x = (features - mean) / std
    weights, bias = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        error = sigmoid(x @ weights + bias) - labels
        weights -= rate * (x.T @ error / len(x) + l2 * weights)
        bias -= rate * float(error.mean())
    return {"mean": mean.tolist(), "std": std.tolist(), "weights": weights.tolist(),
            "bias": bias}


def score(state: dict, features: np.ndarray) -> np.ndarray:
    x = (features - np.asarray(state["mean"])) / np.asarray(state["std"])
    return sigmoid(x @ np.asarray(state["weights"]) + state["bias"])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class LinearModel:
    """The model code contract (``train`` / ``init`` / ``predict``) around :func:`fit` and
    :func:`score`, shared by the churn models; each model folder gives its default weights,
    its decision threshold and how it prints the coefficient table (with its own pinned
    ``tabulate``)."""

    def __init__(self, default_weights: Path, threshold: float,
                 table: Callable[..., str]) -> None:
        self.default_weights, self.threshold, self.table = default_weights, threshold, table
        self.state: dict = {}

    def train(self, df: pd.DataFrame, params: dict) -> dict:
        label = params.get("label_column", "label")
        columns = [c for c in df.columns if c not in (label, "id")]
        state = {**fit(df[columns].to_numpy(float), df[label].to_numpy(float)),
                 "columns": columns}
        Path(params["artifact_dir"], "weights.json").write_text(json.dumps(state))
        print(self.table(zip(columns, np.round(state["weights"], 4)),
                         headers=["feature", "weight"]))
        predicted = score(state, df[columns].to_numpy(float)) >= self.threshold
        return {"train_accuracy": float((predicted == df[label].to_numpy()).mean())}

    def init(self, artifact_dir: str | None) -> None:
        """The artifact's weights, else the defaults committed next to the model."""
        path = Path(artifact_dir) / "weights.json" if artifact_dir else None
        if path is None or not path.is_file():
            path = self.default_weights
        self.state = json.loads(path.read_text())

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        if not self.state:
            self.init(None)
        scores = score(self.state, df[self.state["columns"]].to_numpy(float))
        return pd.DataFrame({"prediction": (scores >= self.threshold).astype("int64"),
                             "score": scores})
