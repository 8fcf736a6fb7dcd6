"""A build: clone the git source at the branch, find the model code, train it in a model
subprocess (the model code contract of :mod:`connectors.jobs.model_side.mlc_runner`) with the
automation's env vars and secret in that child's environment only, then test it on the
labelled test file and log the metrics.

The access token never reaches a command line, a process variable, history or a log: git
gets it through ``GIT_CONFIG_*`` environment variables (an ``http.extraHeader``), and every
text kept from git or the model (errors, log tail) has it replaced by ``***``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._declarations import BuildSpecifications
from ._errors import BuildError

LOG_TAIL_CHARS = 4000


def secret_env_name(secret: str) -> str:
    return "MLC_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", secret).upper()


def secrets_in(variables: Mapping[str, str]) -> Callable[[str], str | None]:
    """The secret store over ``MLC_SECRET_<NAME>`` variables (``Settings.secrets``)."""
    return lambda secret: variables.get(secret_env_name(secret))


@dataclass
class BuildResult:
    commit: str
    code_dir: Path
    artifact_dir: Path
    metrics: dict[str, float] = field(default_factory=dict)
    log_tail: str = ""


class GitBuilder:
    """Builds automations' models under ``builds_root/<build id>`` (kept: a deployed snapshot's
    code and artifact live there).

    Args:
        builds_root: where build folders go.
        secrets: name -> value (None when unknown), e.g. :func:`secrets_in` over
            ``Settings.secrets`` (the ``MLC_SECRET_<NAME>`` variables).
    """

    def __init__(self, builds_root: Path, secrets: Callable[[str], str | None]) -> None:
        self.builds_root = Path(builds_root).resolve()
        self.secrets = secrets

    def build(self, build_id: str, spec: BuildSpecifications, methodology: str) -> BuildResult:
        token = None
        if spec.git_access_token_secret:
            token = self.secrets(spec.git_access_token_secret)
            if not token:
                raise BuildError(f"secret {spec.git_access_token_secret!r} is not set (expected "
                                 f"in {secret_env_name(spec.git_access_token_secret)})")
        hide = [token] if token else []
        root = self.builds_root / build_id
        if root.exists():  # a retried build starts clean
            shutil.rmtree(root)
        root.mkdir(parents=True)
        checkout = root / "src"
        commit = self._clone(spec, checkout, token, hide)
        code_dir = self._code_dir(spec, checkout)
        env = {**spec.environment()}
        if token and spec.git_access_token_secret:
            env[spec.git_access_token_secret.upper()] = token
        artifact_dir = root / "artifact"
        artifact_dir.mkdir()
        log_path = root / "build.log"
        try:
            metrics = self._train_and_test(spec, code_dir, artifact_dir, log_path, env,
                                           methodology)
        except BuildError as exc:
            raise BuildError(_redact(str(exc), hide) + _tail_hint(log_path, hide)) from None
        return BuildResult(commit, code_dir, artifact_dir, metrics, _tail(log_path, hide))

    # -- steps --------------------------------------------------------------------------------

    def _clone(self, spec: BuildSpecifications, target: Path, token: str | None,
               hide: list[str]) -> str:
        url = spec.repository
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        if token and url.startswith(("http://", "https://")):
            env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                        "GIT_CONFIG_VALUE_0": f"Authorization: Bearer {token}"})
        try:
            subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch",
                            spec.git_branch, "--", url, str(target)],
                           check=True, capture_output=True, text=True, timeout=300, env=env)
            commit = subprocess.run(["git", "-C", str(target), "rev-parse", "HEAD"], check=True,
                                    capture_output=True, text=True, timeout=30).stdout.strip()
        except FileNotFoundError:
            raise BuildError("git is not installed on this machine") from None
        except subprocess.CalledProcessError as exc:
            detail = _redact((exc.stderr or "").strip(), hide)[-300:]
            raise BuildError(f"git clone of {url} at branch {spec.git_branch!r} failed: "
                             f"{detail}") from None
        except subprocess.TimeoutExpired:
            raise BuildError(f"git clone of {url} timed out") from None
        return commit

    @staticmethod
    def _code_dir(spec: BuildSpecifications, checkout: Path) -> Path:
        base = (checkout / spec.folder).resolve() if spec.folder else checkout.resolve()
        if not base.is_relative_to(checkout.resolve()) or not base.is_dir():
            raise BuildError(f"folder {spec.folder!r} is not in the repository")
        candidate = (base / spec.main_dir).resolve() if spec.main_dir else base
        if spec.main_dir and candidate.is_dir() and candidate.is_relative_to(checkout.resolve()):
            base = candidate
        if not (base / "model.py").is_file():
            raise BuildError(f"no model.py in {spec.folder or '.'}"
                             + (f" or {spec.folder or '.'}/{spec.main_dir}" if spec.main_dir else ""))
        return base

    @staticmethod
    def _data_file(code_dir: Path, name: str, role: str) -> Path:
        path = (code_dir / name).resolve()
        if not path.is_relative_to(code_dir.parent.parent) or not path.is_file():
            raise BuildError(f"{role} file {name!r} not found next to model.py")
        return path

    def _train_and_test(self, spec: BuildSpecifications, code_dir: Path, artifact_dir: Path,
                        log_path: Path, env: Mapping[str, str], methodology: str) -> dict[str, float]:
        from connectors.jobs import ModelProcess, ModelProcessError, compute_metrics
        from connectors.jobs.formats import format_of, read_frame

        train = self._data_file(code_dir, spec.training_data, "training data")
        test = self._data_file(code_dir, spec.test_data, "test data")
        label = spec.label_column
        limit = float(spec.timeout_seconds)
        process = ModelProcess(extra_env=dict(env))
        try:
            load: dict[str, Any] = {"op": "load", "model_dir": str(code_dir),
                                    "artifact_dir": None, "log": str(log_path)}
            process.call(load, limit, "loading the model code")
            trained = process.call(
                {"op": "train", "input": str(train), "format": format_of(train.name),
                 "params": {"label_column": label, **spec.params},
                 "artifact_dir": str(artifact_dir)}, limit, "training")
            process.call({**load, "artifact_dir": str(artifact_dir)}, limit,
                         "loading the trained model")
            predictions = artifact_dir.parent / "predictions.parquet"
            process.call({"op": "predict", "input": str(test), "input_format": format_of(test.name),
                          "output": str(predictions), "output_format": "parquet",
                          "drop": [label]}, limit, "predicting on the test data")
        except ModelProcessError as exc:
            raise BuildError(exc.message) from None
        finally:
            process.close()
        labelled = read_frame(test, format_of(test.name))
        if label not in labelled.columns:
            raise BuildError(f"test data has no label column {label!r}")
        predicted = read_frame(predictions, "parquet")
        column = predicted["prediction"] if "prediction" in predicted.columns else predicted.iloc[:, 0]
        scores = predicted["score"] if "score" in predicted.columns else None
        try:
            tested = compute_metrics(methodology, labelled[label].to_numpy(), column.to_numpy(),
                                     scores.to_numpy() if scores is not None else None)
        except Exception as exc:
            raise BuildError(f"computing test metrics failed: {exc}") from None
        metrics = {**(trained.get("metrics") or {}), **tested}
        return {str(k): float(v) for k, v in metrics.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _redact(text: str, hide: list[str]) -> str:
    for secret in hide:
        if secret:
            text = text.replace(secret, "***")
    return text


def _tail(path: Path, hide: list[str]) -> str:
    try:
        return _redact(path.read_text(errors="replace")[-LOG_TAIL_CHARS:], hide)
    except OSError:
        return ""


def _tail_hint(path: Path, hide: list[str]) -> str:
    tail = _tail(path, hide).strip().splitlines()
    return f" (log: {tail[-1][:300]})" if tail else ""
