"""Data frames in and out of a model subprocess: CSV / Parquet / Feather files, the shape
``predict`` may answer in, and JSON records for online predictions.

Imports only pandas / numpy (lazily), so it runs in a model's own environment as well as in
the engine's (:mod:`connectors.jobs.formats` re-exports the file functions).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily below
    import pandas as pd


def read_frame(path: str | Path, fmt: str) -> pd.DataFrame:
    import pandas as pd

    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "feather":
        return pd.read_feather(path)
    raise ValueError(f"unknown format {fmt!r}")


def write_frame(frame: pd.DataFrame, path: str | Path, fmt: str) -> None:
    """Write atomically (temp file + rename) so a killed job never leaves half an output."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part-{os.getpid()}")
    try:
        if fmt == "csv":
            frame.to_csv(tmp, index=False)
        elif fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        elif fmt == "feather":
            frame.reset_index(drop=True).to_feather(tmp)
        else:
            raise ValueError(f"unknown format {fmt!r}")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def as_frame(result: Any, rows: int) -> pd.DataFrame:
    """Normalise ``predict``'s answer to a DataFrame (a Series becomes ``prediction``)."""
    import numpy as np
    import pandas as pd

    if isinstance(result, pd.Series):
        frame = result.rename("prediction").to_frame()
    elif isinstance(result, pd.DataFrame):
        frame = result
    else:
        array = np.asarray(result)
        if array.ndim == 1:
            frame = pd.DataFrame({"prediction": array})
        elif array.ndim == 2:
            frame = pd.DataFrame(array, columns=[f"p{i}" for i in range(array.shape[1])])
        else:
            raise TypeError(f"predict returned a {array.ndim}-dimensional array")
    if len(frame) != rows:
        raise ValueError(f"predict returned {len(frame)} rows for {rows} input rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def _json_value(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None  # JSON has no NaN
    return value


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One plain-JSON dict per row of ``frame`` (numpy scalars unwrapped, NaN as null)."""
    return [{k: _json_value(v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]
