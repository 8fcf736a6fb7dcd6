"""What runs *inside* a model subprocess, in whichever Python environment the model has.

These modules are started by path (``python .../mlc_runner.py``), never imported through the
``connectors`` package: a model with its own ``requirements.model`` runs in a virtual
environment that has pandas and the model's pins but none of the engine's dependencies
(SQLAlchemy, Flask, ...). So they import only the standard library, pandas / numpy and each
other, under names (``mlc_*``) that cannot shadow a model's own modules.
"""
