"""Access to the runtime from a request: views stay free of globals and of wiring."""

from __future__ import annotations

from typing import Any

from flask import current_app


def runtime() -> Any:
    return current_app.extensions["mlc_runtime"]


def engine() -> Any:
    return runtime().engine


def tasks() -> Any:
    return runtime().tasks


def task_latency() -> Any:
    return current_app.extensions["mlc_task_latency"]
