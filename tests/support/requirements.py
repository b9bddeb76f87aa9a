"""Real components a test needs: skipped on a developer's machine without them, failed in CI.

In CI (``CI=true``) a missing component is a broken setup, not a reason to skip: `make test`
installs every one of them (scripts/install-system-deps and the venv).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def _missing(what: str) -> NoReturn:
    message = f"{what} is missing; `make test` installs it"
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing component fails, never skips)")
    pytest.skip(message)


def require_program(name: str) -> str:
    """The full path of the program ``name``; skip (or fail in CI) when it is not on PATH."""
    path = shutil.which(name)
    if path is None:
        _missing(f"the program {name!r}")
    return path


def require_path(path: Path, what: str) -> Path:
    """``path``, which must exist (``what`` names it); skip (or fail in CI) when it does not."""
    if not path.exists():
        _missing(what)
    return path


def require_module(name: str) -> None:
    """Skip (or fail in CI) when the Python module ``name`` cannot be imported."""
    try:
        found = importlib.util.find_spec(name) is not None
    except ImportError:  # a parent package is missing
        found = False
    if not found:
        _missing(f"the Python module {name!r}")
