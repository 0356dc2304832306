"""The suite's options, registered from ``data/options.yaml``: prefixed names, deprecated aliases.

A ``pytest11`` plugin's options exist in every pytest run of the environment, so each carries
the ``--kserve-`` prefix. The names the suite had before the prefix still work for one release,
with a deprecation warning, but they are never registered: once the initial conftests are
loaded, an old name on the command line that no conftest or other plugin registered is rewritten
to its new one. A user's own ``--endpoint`` or ``--namespace`` therefore stays the user's.

Before that, when pytest's guess of the test paths is redone (``option_forms``), an old name is
taken for what it will most likely become: an option, with its value if it takes one, so that
``--report-dir DIR`` leaves DIR out of that guess as ``--report-dir=DIR`` does. A conftest's own
option of that name would take a value too, unless it were a flag (then DIR is collected, but
was not where the initial conftests were looked for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import pytest
import yaml

PREFIX = "--kserve-"
NEGATIVE_NUMBER = re.compile(r"-\d+|-\d*\.\d+")  # argparse's test, for a parser with no such option
TYPES: dict[str, Any] = {"float": float, "int": int, "str": None}


class OptionDeprecationWarning(DeprecationWarning):
    """An option was given by its name from before the ``--kserve-`` prefix."""


@dataclass(frozen=True)
class Option:
    name: str  # without the prefix: "load-rate"
    group: str
    alias: str | None = None  # the old name, without dashes: "load-rate" for --load-rate
    type: str = "str"
    default: Any = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    help: str = ""

    @property
    def flag(self) -> str:
        return f"{PREFIX}{self.name}"

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def old_flag(self) -> str | None:
        return f"--{self.alias}" if self.alias else None


@cache
def options() -> tuple[Option, ...]:
    doc = yaml.safe_load((resources.files("kserve_conformance.plugin") / "data" / "options.yaml").read_text())
    return tuple(
        Option(group=group["title"], **{**o, "choices": tuple(o["choices"]) if "choices" in o else None})
        for group in doc["groups"]
        for o in group["options"]
    )


def register(parser: pytest.Parser) -> None:
    for option in options():
        group = parser.getgroup(option.group.lower().replace(" ", "-"), option.group)
        names = [option.flag]
        kwargs: dict[str, Any] = {"dest": option.dest, "help": " ".join(option.help.split())}
        if option.type == "flag":
            kwargs["action"] = "store_true"
        elif option.type == "list":
            kwargs.update(action="append", default=[])
        else:
            kwargs["default"] = option.default
            if TYPES[option.type] is not None:
                kwargs["type"] = TYPES[option.type]
            if option.choices:
                kwargs["choices"] = option.choices
            if option.metavar:
                kwargs["metavar"] = option.metavar
        group.addoption(*names, **kwargs)


DEPRECATED_KEY = pytest.StashKey[list[tuple[str, str]]]()


def registered_names(parser: pytest.Parser) -> set[str]:
    """Every option name registered so far (pytest's own, plugins', conftests')."""
    groups = [parser._anonymous, *parser._groups]
    return {name for group in groups for opt in group.options for name in opt.names()}


def without_aliases(args: list[str], taken: set[str]) -> list[str]:
    """``args`` less the old names nobody else registered (``taken``) and the values they take.

    What is left is what pytest may take for test paths. A value that starts with ``-`` is the
    next option, as argparse reads it, unless it is a negative number.
    """
    takes_value = {o.old_flag: o.type != "flag" for o in options() if o.old_flag and o.old_flag not in taken}
    visible: list[str] = []
    skip = False
    for i, arg in enumerate(args):
        if arg == "--":
            return visible + args[i:]
        if skip and (not arg.startswith("-") or NEGATIVE_NUMBER.fullmatch(arg)):
            skip = False
            continue
        name, eq, _ = arg.partition("=")
        skip = takes_value.get(name, False) and not eq
        if name not in takes_value:
            visible.append(arg)
    return visible


def rewrite_aliases(args: list[str], taken: set[str]) -> list[tuple[str, str]]:
    """Rewrite old option names in ``args`` to the prefixed ones, in place; return ``(old, new)`` used.

    Only names nobody else registered (``taken``) are ours to rewrite; everything after ``--``
    belongs to no option.
    """
    old = {o.old_flag: o.flag for o in options() if o.old_flag and o.old_flag not in taken}
    used: list[tuple[str, str]] = []
    for i, arg in enumerate(args):
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if name in old:
            args[i] = f"{old[name]}{eq}{value}"
            if (name, old[name]) not in used:
                used.append((name, old[name]))
    return used


def warn_deprecated(config: pytest.Config) -> None:
    used = config.stash.get(DEPRECATED_KEY, [])
    if used:
        names = ", ".join(f"{old} (now {new})" for old, new in used)
        config.issue_config_time_warning(
            OptionDeprecationWarning(
                f"kserve-conformance: deprecated option names: {names}; the names without "
                "the --kserve- prefix go in the next release"
            ),
            stacklevel=2,
        )
