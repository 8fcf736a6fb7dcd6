"""Camunda 7-compatible ``/engine-rest``: the subset Camunda Modeler and Camunda REST clients
(e.g. ``camunda-external-task-client-python3``) call, with Camunda's bodies and typed
variables, translated to the same engine facade as ``/api``."""

PREFIX = "/engine-rest"
