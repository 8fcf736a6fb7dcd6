"""Sample model: logistic regression on standardised features.

Follows the model code contract: ``train(df, params)`` writes ``model.pkl`` into
``params["artifact_dir"]``; ``init(artifact_dir)`` loads it once per process (falling back to
fitting on the shipped ``train.csv``, so the demo scores before any training job has run);
``predict(df)`` returns ``prediction`` and ``score`` (probability of class 1).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
_state: dict[str, Any] = {}


def _features(df: pd.DataFrame, label: str) -> list[str]:
    return [c for c in df.columns if c not in (label, "id")]


def _fit(df: pd.DataFrame, label: str, params: dict[str, Any]) -> dict[str, Any]:
    features = _features(df, label)
    pipeline = make_pipeline(StandardScaler(),
                             LogisticRegression(C=float(params.get("C", 1.0)), max_iter=500))
    pipeline.fit(df[features], df[label])
    return {"pipeline": pipeline, "features": features}


def train(df: pd.DataFrame, params: dict[str, Any]) -> dict[str, Any]:
    label = params.get("label_column", "label")
    fitted = _fit(df, label, params)
    artifact_dir = params.get("artifact_dir") or os.getcwd()
    with open(os.path.join(artifact_dir, "model.pkl"), "wb") as fh:
        pickle.dump(fitted, fh)
    accuracy = fitted["pipeline"].score(df[fitted["features"]], df[label])
    print(f"trained on {len(df)} rows, training accuracy {accuracy:.3f}")
    return {"train_accuracy": float(accuracy), "rows": len(df)}


def init(artifact_dir: str | None) -> None:
    path = Path(artifact_dir) / "model.pkl" if artifact_dir else None
    if path is not None and path.is_file():
        with open(path, "rb") as fh:
            _state.update(pickle.load(fh))
    else:
        _state.update(_fit(pd.read_csv(HERE / "train.csv"), "label", {}))


def predict(df: pd.DataFrame) -> pd.DataFrame:
    if not _state:
        init(None)
    pipeline = _state["pipeline"]
    scores = pipeline.predict_proba(df[_state["features"]])[:, 1]
    out = pd.DataFrame({"prediction": (scores >= 0.5).astype("int64"), "score": scores})
    if "id" in df.columns:
        out.insert(0, "id", df["id"].to_numpy())
    return out
