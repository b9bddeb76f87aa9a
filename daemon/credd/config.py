"""Settings from `config.toml`, validated once at start.

A bad file is reported with the option (and, for TOML syntax errors, the line) at fault,
never with a traceback.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

KeyBackend = Literal["auto", "keyring", "keyfile", "passphrase"]


class ConfigError(Exception):
    pass


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key_backend: KeyBackend = Field(
        "auto",
        description="auto: OS keyring, else an insecure key file (reported); keyring: "
        "refuse to start without a secure keyring; keyfile: always the key file",
    )
    keyring_timeout: float = Field(10.0, gt=0, le=300, description="seconds per keyring call")
    lock_after: float | None = Field(
        None, gt=0, description="seconds without requests before the key is dropped"
    )
    autostart: bool = Field(False, description="clients start a daemon when none answers")
    refresh_margin: float | None = Field(
        None,
        gt=0,
        le=86400,
        description="seconds before expiry an OAuth refresh starts; default the smaller of "
        "60 s and a third of the token's lifetime",
    )
    refresh_timeout: float = Field(
        30.0, gt=0, le=300, description="seconds a token endpoint may take to answer"
    )
    max_concurrent_refreshes: int = Field(
        8, ge=1, le=256, description="OAuth refreshes in flight at once, over all credentials"
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config.model_validate({})
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        return Config.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(file)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
