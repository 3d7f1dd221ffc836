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


def modules(command: str | None = None) -> list[ModuleType]:
    """Every command module of this package, in name order; only the one of ``command`` (its
    module is the command's name with ``_`` for ``-``) when it is one, so that running a command
    imports no other command's parser dependencies (``manifest`` lists the corpus builders)."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))
    if command is not None and command.replace("-", "_") in names:
        names = [command.replace("-", "_")]
    return [importlib.import_module(f"{__name__}.{name}") for name in names]
