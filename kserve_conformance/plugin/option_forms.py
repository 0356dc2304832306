"""``--kserve-report-dir DIR`` behaves like ``--kserve-report-dir=DIR``, for every plugin option that takes a path.

pytest picks its rootdir and ini file before it loads plugins, from the arguments it does not
recognise as options. A plugin option written with a space (``--kserve-report-dir reports-x``,
``--kubeconfig FILE``, ``--kserve-local-crd FILE``) therefore lends its value to that early guess as
if it were a test path; when the value exists, the rootdir and ini file come out different
(no ``testpaths``, so a run from a checkout collected the self-tests as well: 195 items where
the ``=`` form collects 68). Once the plugins are loaded every option is known, so this
module redoes pytest's guess with the real positional arguments and, when the answer differs,
puts the right rootdir and ini file in place before anything is collected.

That uses pytest's private ``Config`` attributes. Where they are not as expected (another pytest
version), or an ini file's ``addopts`` were already applied from the wrong file, the run stops
instead, with one line telling the user to write ``--option=VALUE``.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest
from _pytest.config.findpaths import determine_setup

PRIVATE = ("_rootpath", "_inipath", "_inicfg", "_inicache")


def realign(config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Called from ``pytest_load_initial_conftests``, before the initial conftests are found."""
    known = config.known_args_namespace
    rootpath, inipath, inicfg, _ = determine_setup(
        inifile=known.inifilename,
        override_ini=known.override_ini,
        args=known.file_or_dir,
        rootdir_cmd_arg=known.rootdir or None,
        invocation_dir=config.invocation_params.dir,
    )
    if (rootpath, inipath) == (config.rootpath, config.inipath):
        return
    spaced = spaced_values(args)
    if config.inipath is not None or not all(hasattr(config, name) for name in PRIVATE):
        option, value = spaced[0] if spaced else ("--OPTION", "VALUE")
        raise pytest.UsageError(
            f"kserve-conformance: write {option}={value}, not '{option} {value}': pytest took "
            f"{value} for a test path before this plugin's options were known"
        )
    config._rootpath, config._inipath, config._inicfg = rootpath, inipath, inicfg
    config._inicache.clear()
    parser.extra_info["rootdir"], parser.extra_info["inifile"] = str(rootpath), str(inipath)
    args[:0] = config.getini("addopts")  # the right ini file's addopts, as pytest would have added them
    config.known_args_namespace = parser.parse_known_args(args, namespace=copy.copy(config.option))
    if config.known_args_namespace.confcutdir is None:
        config.known_args_namespace.confcutdir = str(inipath.parent if inipath else rootpath)


def spaced_values(args: list[str]) -> list[tuple[str, str]]:
    """Options written ``--name VALUE`` whose VALUE exists on disk: what pytest's early guess saw."""
    return [
        (arg, value)
        for arg, value in itertools.pairwise(args)
        if arg.startswith("--") and "=" not in arg and not value.startswith("-") and Path(value).exists()
    ]
