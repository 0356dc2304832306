"""``--kserve-report-dir DIR`` behaves like ``--kserve-report-dir=DIR``, for every plugin option with a value.

pytest picks its rootdir and ini file before it loads plugins, from the arguments it does not
recognise as options. A plugin option written with a space (``--kserve-report-dir reports-x``,
``--kubeconfig FILE``, ``--kserve-local-crd FILE``) therefore lends its value to that early guess as
if it were a test path; when the value exists, the rootdir and ini file come out different
(no ``testpaths``, so a run from a checkout collected the self-tests as well: 195 items where
the ``=`` form collects 68). Once the plugins are loaded every option is known (the suite's old
names are read as what they will be rewritten to, ``options.without_aliases``), so this module
redoes pytest's guess with the real positional arguments and, when the answer differs, puts the
right rootdir and ini file in place before anything is collected. Either way the initial
conftests are then looked for along the real positional arguments, never in an option's value.

That uses pytest's private ``Config`` attributes. Where they are not as expected (another pytest
version), or the wrong ini file (one the value's directory has) already acted, its ``addopts`` added
to the arguments or its ``pythonpath`` to ``sys.path``, the run stops instead, with one line telling
the user to write ``--option=VALUE``.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest
from _pytest.config.findpaths import determine_setup

PRIVATE = ("_rootpath", "_inipath", "_inicfg", "_inicache")
APPLIED_EARLY = ("addopts", "pythonpath")  # what pytest applies from its ini file before the plugins load


def realign(config: pytest.Config, parser: pytest.Parser, args: list[str], visible: list[str]) -> None:
    """Called from ``pytest_load_initial_conftests``, before the initial conftests are found.

    ``visible`` is ``args`` without what pytest will read as no test path once the initial conftests
    are loaded (the suite's old option names and their values).
    """
    known = parser.parse_known_args(visible, namespace=copy.copy(config.option))
    rootpath, inipath, inicfg, ignored = determine_setup(
        inifile=known.inifilename,
        override_ini=known.override_ini,
        args=known.file_or_dir,
        rootdir_cmd_arg=known.rootdir or None,
        invocation_dir=config.invocation_params.dir,
    )
    if (rootpath, inipath) != (config.rootpath, config.inipath):
        spaced = spaced_values(args)
        if not all(hasattr(config, name) for name in PRIVATE) or any(key in config._inicfg for key in APPLIED_EARLY):
            option, value = spaced[0] if spaced else ("--OPTION", "VALUE")
            raise pytest.UsageError(
                f"kserve-conformance: write {option}={value}, not '{option} {value}': pytest took "
                f"{value} for a test path before this plugin's options were known"
            )
        config._rootpath, config._inipath, config._inicfg = rootpath, inipath, inicfg
        config._inicache.clear()
        if hasattr(config, "_ignored_config_files"):  # only named in pytest's header
            config._ignored_config_files = ignored
        parser.extra_info["rootdir"], parser.extra_info["inifile"] = str(rootpath), str(inipath)
        addopts = config.getini("addopts")  # the right ini file's, as pytest would have added them
        args[:0], visible[:0] = addopts, addopts
        known = parser.parse_known_args(visible, namespace=copy.copy(config.option))
    if known.confcutdir is None:  # as pytest sets it
        known.confcutdir = str(inipath.parent if inipath else rootpath)
    config.known_args_namespace = known  # where pytest looks for the initial conftests


def spaced_values(args: list[str]) -> list[tuple[str, str]]:
    """Options written ``--name VALUE`` whose VALUE exists on disk: what pytest's early guess saw."""
    return [
        (arg, value)
        for arg, value in itertools.pairwise(args)
        if arg.startswith("--") and "=" not in arg and not value.startswith("-") and Path(value).exists()
    ]
