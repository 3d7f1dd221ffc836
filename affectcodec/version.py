"""Package version (single source: pyproject.toml's version must match)."""

__version__ = "0.1.0"
