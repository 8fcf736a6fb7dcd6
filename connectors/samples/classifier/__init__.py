"""The sample classifier's folder (a package only so that ``pip install`` ships it)."""
