"""Subcommands of the ``affectcodec`` console script, one module each.

A module here defines ``add_parser(subparsers) -> argparse.ArgumentParser`` and sets
``func=callable(args) -> int`` on the parser it adds; :mod:`affectcodec.cli` discovers the
modules, so adding a command touches no other file. Modules import their heavy dependencies
inside ``func``, which keeps ``affectcodec --help`` fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def modules() -> list[ModuleType]:
    """Every command module of this package, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            found.append(importlib.import_module(f"{__name__}.{info.name}"))
    return found
