"""Package discovery under pyproject.toml's directory mapping; everything else is in pyproject.toml.

pyproject.toml can map directories to packages (``package-dir``: ``conformance/`` installs as
``kserve_conformance.conformance``) or discover packages (``packages.find``), not both: discovery
names a package after its directory, so the checks would install as a top-level ``conformance``.
A hand-kept list of packages did both, and a new subpackage (``kserve_conformance.load.llm``)
was left out of the wheel. Here every package below each mapped directory is found and named
under the mapping's package, so a new one ships without anyone listing it.
"""

import tomllib
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent
MAPPING: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]

setup(
    packages=[
        f"{package}.{sub}" if sub else package
        for package, directory in MAPPING.items()
        for sub in ["", *find_packages(str(ROOT / directory))]
    ]
)
