"""Online serving on the embedded runtime: :class:`OnlinePredictor` (framework-free; the web
layer exposes ``predict(deployed_model_id, records)``)."""

from ._predictor import OnlinePredictor

__all__ = ["OnlinePredictor"]
