"""Churn model, second generation: logistic regression on the numeric features (the model code contract).

``train(df, params)`` fits and writes ``weights.json`` into the artifact folder and prints a
coefficient table (with the ``tabulate`` this folder pins in ``requirements.model``);
``init(artifact_dir)`` loads the weights once per process (the weights committed next to this
file when no artifact was trained or uploaded); ``predict(df)`` answers ``prediction`` and
``score`` per row.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from common.linear import fit, score

HERE = Path(__file__).resolve().parent
THRESHOLD = 0.45  # recall matters more than precision in this version
_state: dict = {}


def _features(df: pd.DataFrame, label: str = "label") -> list[str]:
    return [c for c in df.columns if c not in (label, "id")]


def train(df: pd.DataFrame, params: dict) -> dict:
    label = params.get("label_column", "label")
    columns = _features(df, label)
    state = {**fit(df[columns].to_numpy(float), df[label].to_numpy(float)), "columns": columns}
    Path(params["artifact_dir"], "weights.json").write_text(json.dumps(state))
    print(tabulate(zip(columns, np.round(state["weights"], 4)), headers=["feature", "weight"]))
    predicted = score(state, df[columns].to_numpy(float)) >= THRESHOLD
    return {"train_accuracy": float((predicted == df[label].to_numpy()).mean())}


def init(artifact_dir: str | None) -> None:
    path = Path(artifact_dir) / "weights.json" if artifact_dir else None
    if path is None or not path.is_file():
        path = HERE / "weights.json"
    _state.clear()
    _state.update(json.loads(path.read_text()))


def predict(df: pd.DataFrame) -> pd.DataFrame:
    if not _state:
        init(None)
    scores = score(_state, df[_state["columns"]].to_numpy(float))
    return pd.DataFrame({"prediction": (scores >= THRESHOLD).astype("int64"), "score": scores})
