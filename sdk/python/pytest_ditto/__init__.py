"""A throw-away PostgreSQL copy per test, from the ditto daemon.

The client (pytest_ditto.client) uses only the standard library; the pytest
plugin (pytest_ditto.plugin) is registered through the pytest11 entry point.
"""

from .client import Client, Copy, DittoError, ci_labels

__all__ = ["Client", "Copy", "DittoError", "ci_labels"]
