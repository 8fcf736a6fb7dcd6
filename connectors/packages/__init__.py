"""Model packages: a model folder's own dependencies, its own tests, and its artifacts.

Public surface:

- :class:`ModelEnvironments` — the on-disk cache of per-model virtual environments, one per
  content of ``requirements.model`` (built with uv, else venv + pip); :class:`ModelEnvironment`
  is one of them and :class:`EnvironmentBuildError` a build that failed, naming the requirement.
- :func:`read_requirements` — a folder's checked ``requirements.model`` (None without one).
- :func:`run_model_tests` / :class:`TestReport` — pytest on ``test_model.py`` in that
  environment, and what it found.

The folder contract itself is documented in ``docs/models.md``.
"""

from .environments import EnvironmentBuildError, ModelEnvironment, ModelEnvironments
from .model_tests import ModelTestsFailed, TestReport, has_tests, run_model_tests
from .requirements import (
                           REQUIREMENTS_FILE,
                           RUNNER_REQUIREMENTS,
                           TESTS_FILE,
                           ModelRequirements,
                           read_requirements,
)

__all__ = ["EnvironmentBuildError", "ModelEnvironment", "ModelEnvironments",
           "ModelRequirements", "ModelTestsFailed", "REQUIREMENTS_FILE", "RUNNER_REQUIREMENTS", "TESTS_FILE",
           "TestReport", "has_tests", "read_requirements", "run_model_tests"]
