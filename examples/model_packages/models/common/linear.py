"""A small logistic regression in numpy: standardise, fit by gradient descent, score.

Shared by ``churn`` and ``churn_v2``; each model folder imports it as ``common.linear``
(the engine puts the folder above a model folder on its import path).
"""

from __future__ import annotations

import numpy as np


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
