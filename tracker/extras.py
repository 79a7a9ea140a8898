"""The optional extras of pyproject.toml (`pip install -e '.[eval]'` ...): one clear error where one is missing.

`pip install -e .` gives the library and `track` only; a command or setting that needs an extra's package says
which extra to install, in one line, before it makes anything (README.md, "Install").
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

__all__ = ["EXTRA_OF_MODULE", "extra_of", "install_command", "missing_extra", "require_extra"]

EXTRA_OF_MODULE = {  # the top-level modules of each extra's packages (pyproject.toml's optional-dependencies)
    "openvino": "openvino",
    "nncf": "openvino",
    "trackeval": "eval",
    "matplotlib": "eval",
    "boxmot": "peers",
    "ray": "ray",
}


def install_command(extra: str) -> str:
    """`pip install -e '.[NAME]'`: how README.md installs the extra `extra` into a checkout."""
    return f"pip install -e '.[{extra}]'"


def extra_of(exc: ImportError) -> str | None:
    """The extra whose package `exc` (an ImportError) found missing, or None for a package of no extra."""
    name = exc.name or ""
    return EXTRA_OF_MODULE.get(name.partition(".")[0])


def missing_extra(what: str, exc: ImportError, extra: str) -> ImportError:
    """The one-line ImportError for `what` ("track eval", "reid.backend=openvino") lacking `extra`'s package.

    Args:
        what: the command or setting that needs the package.
        exc: the failed import (its first line says which module, or why a broken install failed).
        extra: the extra that installs it ("eval", "openvino" ...).
    """
    cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ImportError(f"{what} needs the [{extra}] extra, which is not installed ({cause}): {install_command(extra)}")


def require_extra(what: str, modules: Iterable[str]) -> None:
    """Import `modules` (each a key of `EXTRA_OF_MODULE`) now, before any work.

    Raises:
        ImportError: one of them cannot be imported, naming `what`, the extra and its install command.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise missing_extra(what, exc, EXTRA_OF_MODULE[module]) from exc
