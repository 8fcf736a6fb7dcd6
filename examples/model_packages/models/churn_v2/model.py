"""Churn model, second generation: logistic regression on the numeric features (the model code contract).

``train(df, params)`` fits and writes ``weights.json`` into the artifact folder and prints a
coefficient table (with the ``tabulate`` this folder pins in ``requirements.model``);
``init(artifact_dir)`` loads the weights once per process (the weights committed next to this
file when no artifact was trained or uploaded); ``predict(df)`` answers ``prediction`` and
``score`` per row. The code is shared with the other churn model in ``common/linear.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from common.linear import LinearModel
from tabulate import tabulate

THRESHOLD = 0.45  # recall matters more than precision in this version
_model = LinearModel(Path(__file__).resolve().parent / "weights.json", THRESHOLD, tabulate)


def train(df: pd.DataFrame, params: dict) -> dict:
    return _model.train(df, params)


def init(artifact_dir: str | None) -> None:
    _model.init(artifact_dir)


def predict(df: pd.DataFrame) -> pd.DataFrame:
    return _model.predict(df)
