"""Code shared by the models of this repository (importable as ``common`` from any of them)."""
