"""The native ``/api``: one blueprint per resource, each a thin translation to the engine."""
