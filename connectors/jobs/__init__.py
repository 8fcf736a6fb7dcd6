"""ML jobs: training, metrics tests and batch scoring, each run in a model subprocess.

Public surface: :class:`JobService` (what handlers, the CLI and REST routes call),
:class:`ScoringOptions`, :class:`DataStore` (confined local paths and S3), :class:`ProcessPool`,
:func:`compute_metrics`, and :func:`register_model_handlers` (all the registry and job topics).
"""

from ._process import ModelProcess, ModelProcessError, ProcessPool, TimeLimitExceeded
from .locations import DataStore, confine_path
from .metrics import compute_metrics
from .model_code import resolve_model_dir
from .scoring import ScoringOptions
from .service import JobService
from .topics import ModelTopics, register_model_handlers

__all__ = ["DataStore", "JobService", "ModelProcess", "ModelProcessError", "ProcessPool", "ScoringOptions",
           "TimeLimitExceeded", "ModelTopics", "compute_metrics", "confine_path",
           "register_model_handlers", "resolve_model_dir"]
