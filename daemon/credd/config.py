"""Settings from `config.toml`, validated once at start.

A bad file is reported with the line and the option at fault, never with a traceback.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# A local pipe's full name: `\\.\pipe\` and up to 256 characters in all, no backslash after.
PIPE_PREFIX = "\\\\.\\pipe\\"
_PIPE_NAME = re.compile(r"[^\\\x00-\x1f]{1,247}")

KeyBackend = Literal["auto", "keyring", "keyfile", "passphrase"]


class ConfigError(Exception):
    pass


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key_backend: KeyBackend = Field(
        "auto",
        description="auto: OS keyring, else an insecure key file (reported); keyring: "
        "refuse to start without a secure keyring; keyfile: always the key file; "
        "passphrase: the key wrapped under a passphrase `credd unlock` asks for",
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
    # SSH agent (issue 20).
    ssh_allow_sha1: bool = Field(
        False, description="let the SSH agent make SHA-1 RSA signatures (ssh-rsa) for old servers"
    )
    ssh_agent_pipe: str | None = Field(
        None,
        description="Windows: the named pipe the SSH agent serves; default "
        r"`\\.\pipe\openssh-ssh-agent`, the one OpenSSH for Windows opens when "
        r"SSH_AUTH_SOCK is unset (with CREDD_HOME: `\\.\pipe\credd-USER-DIGEST-ssh-agent`)",
    )
    # AWS (issue 21): where STS is; else AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, AWS_REGION.
    aws_endpoint_url_sts: str | None = Field(
        None,
        min_length=1,
        max_length=2048,
        description="the STS endpoint for aws sessions: https, or http on loopback",
    )
    aws_region: str | None = Field(
        None, min_length=1, max_length=64, description="the region STS requests are signed for"
    )

    @field_validator("ssh_agent_pipe")
    @classmethod
    def _local_pipe(cls, value: str | None) -> str | None:
        if value is not None and not (
            value.startswith(PIPE_PREFIX) and _PIPE_NAME.fullmatch(value[len(PIPE_PREFIX) :])
        ):
            raise ValueError(
                rf"a local pipe is named {PIPE_PREFIX}NAME, NAME without a backslash or a "
                "control character, at most 247 characters"
            )
        return value


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
        problems = "; ".join(_describe(error, text) for error in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None


def _describe(error: Any, text: str) -> str:
    """`line 3, option 'lock_after': Input should be greater than 0`, from pydantic's error."""
    option = ".".join(str(part) for part in error["loc"])
    if not option:
        return str(error["msg"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = f"unknown option (known: {', '.join(Config.model_fields)})"
    line = option_line(text, str(error["loc"][0]))
    where = f"line {line}, " if line is not None else ""
    return f"{where}option {option!r}: {message}"


def option_line(text: str, option: str) -> int | None:
    """The line that sets a top-level option, found by scanning the text (tomllib has no
    positions); None when it is not written as a plain `option = ...` line."""
    pattern = re.compile(
        rf"""^\s*(?:{re.escape(option)}|"{re.escape(option)}"|'{re.escape(option)}')\s*="""
    )
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("["):  # past the top level: tables do not hold options
            return None
        if pattern.match(line):
            return number
    return None
