"""The cockpit: the engine's browser face at ``/`` (dashboard, processes and instances drawn
by bpmn-js, decisions, models, the reviewer's ticket inbox, automations, a modeler that
deploys, ``/api/docs``). Server-rendered Jinja templates with vendored JS bundles."""

from .auth import signed_in
from .blueprint import bp, init_app

# isort: split
from . import views_operate, views_registry  # noqa: E402,F401  (their routes join bp)

__all__ = ["bp", "init_app", "signed_in"]
