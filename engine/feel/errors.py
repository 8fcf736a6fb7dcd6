"""FEEL's error type, part of the project's one exception hierarchy."""

from __future__ import annotations

from engine.errors import ExpressionError


class FeelError(ExpressionError):
    """A FEEL text does not parse, or a value cannot cross into FEEL.

    Runtime type mismatches are *not* raised: FEEL turns them into ``null`` and they are
    reported in the evaluation's error list instead (see :class:`engine.feel.Evaluation`).
    """

    code = "feel_error"
