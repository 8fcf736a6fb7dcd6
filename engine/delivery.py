"""What delivering a signal did, said so that a signal nobody hears is never silent.

A signal is broadcast: it may start processes, resume waiting instances, or reach no one.
The last case is usually a typo in a pipeline's signal name, so the answer says
``"unheard": true`` and the engine logs a warning; whether that is an error is the caller's
choice (``mlc signal`` exits 3 unless ``--allow-unheard``; Camunda's routes keep their 204).
"""

from __future__ import annotations

import logging

from .records import SignalResult

log = logging.getLogger("mlc.engine")

UNHEARD = ("signal %r was not heard: no deployed process starts on it and no instance waits "
           "for it")


def signal_report(name: str, started: list[str], resumed: list[str]) -> SignalResult:
    """What the signal did; warns when nobody heard it."""
    unheard = not started and not resumed
    if unheard:
        log.warning(UNHEARD, name)
    return SignalResult(started, resumed, unheard)
