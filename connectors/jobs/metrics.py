"""Test metrics with scikit-learn, as plain JSON-serializable numbers.

Classification: accuracy, precision, recall, f1 (binary on the larger label, weighted when
there are more than two classes), ROC AUC when the model gives a ``score`` for a binary
problem, and the confusion matrix with its label order. Regression: RMSE, MAE, R².
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from engine.errors import ValidationError

if TYPE_CHECKING:  # numpy is imported when metrics are computed
    import numpy as np

    # one column of labels, predictions or scores: a list or a numpy array
    Column: TypeAlias = Sequence[Any] | np.ndarray[Any, Any]


def _num(value: Any) -> Any:
    """The metric as a float, or None when it is undefined (NaN) or infinite: not JSON."""
    value = float(value)
    return value if math.isfinite(value) else None


def _label(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def classification_metrics(y_true: Column, y_pred: Column,
                           y_score: Column | None = None) -> dict[str, Any]:
    import numpy as np
    from sklearn import metrics

    labels = sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()),
                    key=str)
    binary = len(labels) <= 2
    average: dict[str, Any] = ({"average": "binary", "pos_label": labels[-1]} if binary
                               else {"average": "weighted"})
    out: dict[str, Any] = {
        "accuracy": _num(metrics.accuracy_score(y_true, y_pred)),
        "precision": _num(metrics.precision_score(y_true, y_pred, zero_division=0, **average)),
        "recall": _num(metrics.recall_score(y_true, y_pred, zero_division=0, **average)),
        "f1": _num(metrics.f1_score(y_true, y_pred, zero_division=0, **average)),
        "confusion_matrix": {
            "labels": [_label(v) for v in labels],
            "matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        },
    }
    if y_score is not None and binary and len(set(np.asarray(y_true).tolist())) == 2:
        out["roc_auc"] = _num(metrics.roc_auc_score(y_true, y_score))
    return out


def roc_points(y_true: Column, y_score: Column, max_points: int = 101
                ) -> dict[str, list[float]] | None:
    """The ROC curve of a binary problem as at most ``max_points`` (fpr, tpr) points, for
    plotting (the cockpit's snapshot page); None when it is not defined."""
    import numpy as np
    from sklearn import metrics

    labels = sorted(set(np.asarray(y_true).tolist()), key=str)
    if len(labels) != 2:
        return None
    fpr, tpr, _ = metrics.roc_curve(y_true, y_score, pos_label=labels[-1])
    if len(fpr) > max_points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {"fpr": [round(float(v), 6) for v in fpr], "tpr": [round(float(v), 6) for v in tpr]}


def regression_metrics(y_true: Column, y_pred: Column) -> dict[str, Any]:
    from sklearn import metrics

    mse = metrics.mean_squared_error(y_true, y_pred)
    return {"rmse": _num(math.sqrt(mse)), "mae": _num(metrics.mean_absolute_error(y_true, y_pred)),
            "r2": _num(metrics.r2_score(y_true, y_pred))}


def compute_metrics(methodology: str, y_true: Column, y_pred: Column,
                    y_score: Column | None = None) -> dict[str, Any]:
    """The metrics for ``methodology`` (``classification`` or ``regression``)."""
    if len(y_true) != len(y_pred):
        raise ValidationError(f"{len(y_pred)} predictions for {len(y_true)} labels")
    if len(y_true) == 0:
        raise ValidationError("no rows to compute metrics on")
    if methodology == "classification":
        return classification_metrics(y_true, y_pred, y_score)
    if methodology == "regression":
        return regression_metrics(y_true, y_pred)
    raise ValidationError(f"no metrics for methodology {methodology!r}")
