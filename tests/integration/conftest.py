"""The helper suites run against both implementations of each helper: the Python console
scripts of the venv and the native Go programs of build/go/bin (`make go`)."""

from __future__ import annotations

import os

import pytest

from tests.support.go import helper_bin


@pytest.fixture(params=["python", "go"])
def helper_env(
    request: pytest.FixtureRequest, headless_credd_env: dict[str, str]
) -> dict[str, str]:
    """The headless environment, with PATH finding the helpers of one implementation first
    (so that `git` itself runs that `git-credential-credd`)."""
    env = dict(headless_credd_env)
    if request.param == "go":
        env["PATH"] = os.pathsep.join([str(helper_bin()), env["PATH"]])
    return env
