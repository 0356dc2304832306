"""Root conftest for running from a checkout (``pytest --kserve-cluster=kind``).

The suite is a pytest plugin (``kserve_conformance.plugin``, registered as a ``pytest11`` entry
point when the package is installed), so this file only makes a checkout work the same way
without an install step having registered the entry point.
"""

pytest_plugins = ("kserve_conformance.plugin",)
