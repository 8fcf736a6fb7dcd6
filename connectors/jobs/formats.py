"""Reading and writing data frames as CSV, Parquet or Feather, chosen by name or extension.

Used both in the engine process (labels for metrics) and in the model subprocess (scoring), so
it imports only pandas/pyarrow.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from engine.errors import ValidationError

FORMATS = ("csv", "parquet", "feather")
EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".feather": "feather",
              ".arrow": "feather"}
CANONICAL_EXTENSION = {"csv": ".csv", "parquet": ".parquet", "feather": ".feather"}


def format_of(name: str, declared: Optional[str] = None) -> str:
    """The format of a file: ``declared`` when given, else its extension."""
    if declared:
        fmt = declared.strip().lower()
        if fmt not in FORMATS:
            raise ValidationError(f"format must be one of {', '.join(FORMATS)}, not {declared!r}")
        return fmt
    fmt = EXTENSIONS.get(os.path.splitext(name)[1].lower())
    if fmt is None:
        raise ValidationError(f"cannot tell the format of {name!r}: use a .csv, .parquet or "
                              f".feather name, or declare the format")
    return fmt


def output_name(input_name: str, output_format: str) -> str:
    """An output keeps its input's name; only the extension follows a changed format."""
    if EXTENSIONS.get(os.path.splitext(input_name)[1].lower()) == output_format:
        return input_name
    return os.path.splitext(input_name)[0] + CANONICAL_EXTENSION[output_format]


def read_frame(path: str | Path, fmt: str):
    import pandas as pd

    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "feather":
        return pd.read_feather(path)
    raise ValidationError(f"unknown format {fmt!r}")


def write_frame(frame, path: str | Path, fmt: str) -> None:
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
            raise ValidationError(f"unknown format {fmt!r}")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
