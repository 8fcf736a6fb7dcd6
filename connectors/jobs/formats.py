"""Reading and writing data frames as CSV, Parquet or Feather, chosen by name or extension.

The engine's side (labels for metrics, planning outputs); the model subprocess reads and writes
with :mod:`connectors.jobs.model_side.mlc_frames`, which these functions share.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from engine.errors import ValidationError

from .model_side import mlc_frames as model_frames

if TYPE_CHECKING:  # pandas is imported when a frame is read
    import pandas as pd

DataFormat = Literal["csv", "parquet", "feather"]
FORMATS: tuple[str, ...] = get_args(DataFormat)
EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".feather": "feather",
              ".arrow": "feather"}
CANONICAL_EXTENSION = {"csv": ".csv", "parquet": ".parquet", "feather": ".feather"}


def format_of(name: str, declared: str | None = None) -> str:
    """The format of a file: ``declared`` when given, else its extension."""
    if declared:
        fmt = declared.strip().lower()
        if fmt not in FORMATS:
            raise ValidationError(f"format must be one of {', '.join(FORMATS)}, not {declared!r}")
        return fmt
    by_extension = EXTENSIONS.get(os.path.splitext(name)[1].lower())
    if by_extension is None:
        raise ValidationError(f"cannot tell the format of {name!r}: use a .csv, .parquet or "
                              f".feather name, or declare the format")
    return by_extension


def output_name(input_name: str, output_format: str) -> str:
    """An output keeps its input's name; only the extension follows a changed format."""
    if EXTENSIONS.get(os.path.splitext(input_name)[1].lower()) == output_format:
        return input_name
    return os.path.splitext(input_name)[0] + CANONICAL_EXTENSION[output_format]


def _known(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format {fmt!r}")
    return fmt


def read_frame(path: str | Path, fmt: str) -> pd.DataFrame:
    return model_frames.read_frame(path, _known(fmt))


def write_frame(frame: pd.DataFrame, path: str | Path, fmt: str) -> None:
    """Write atomically (temp file + rename) so a killed job never leaves half an output."""
    model_frames.write_frame(frame, path, _known(fmt))
