"""`credd import aws`: the profiles of AWS's credentials file, and the files rewritten to call
credd (see aws_files.py for the formats, importer.py for the rules every import follows).

With --remove-source, once the store holds every key durably: ``~/.aws/config`` gets
``credential_process = /abs/path/credd aws aws:PROFILE`` in each profile's section, then the
keys leave ``~/.aws/credentials``; each file replaced atomically, with its mode. The config
goes first: while both name a profile's keys the AWS SDKs read the credentials file, so a
failure between the two leaves the tools working either way.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys

from credd_client.errors import InvalidRequest

from .aws_files import (
    config_section,
    config_with_process,
    credential_name,
    credentials_without_keys,
    parse_ini,
    profile_entries,
)
from .import_sources import SourceError
from .importer import Source, _check_unchanged, _replace_file

SESSIONS_COST = (
    "sessions: `credd aws` hands out STS session keys (GetSessionToken, 12 h), never the "
    "long-lived key; without MFA such keys cannot call IAM, nor STS beyond AssumeRole and "
    "GetCallerIdentity. For a profile that needs IAM, store its keys again with "
    "`credd aws add NAME --access-key-id ID --no-session`."
)


def aws_source(*, session: bool) -> Source:
    credentials_path = _path("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    config_path = _path("AWS_CONFIG_FILE", "~/.aws/config")
    credentials_text, read_bytes = _read(credentials_path, required=True)
    assert read_bytes is not None
    credentials_bytes: bytes = read_bytes
    config_text, config_bytes = _read(config_path, required=False)
    credentials = parse_ini(credentials_text, credentials_path)
    config = parse_ini(config_text, config_path)
    entries = profile_entries(credentials, config, credentials_path)
    if not session:
        for entry in entries:
            entry.body["session"] = False
    profiles = {entry.body["labels"]["profile"] for entry in entries}
    credd = _credd_command()
    commands = {
        profile: f"{credd} aws {shlex.quote(credential_name(profile))}" for profile in profiles
    }
    new_config = config_with_process(config_text, commands).encode()
    new_credentials = credentials_without_keys(credentials_text, profiles).encode()

    def clear() -> None:
        _check_unchanged(credentials_path, credentials_bytes)
        if config_bytes is None:
            if os.path.lexists(config_path):
                raise InvalidRequest(f"{config_path} appeared while importing; run it again")
            _create(config_path, new_config)
        else:
            _check_unchanged(config_path, config_bytes)
            _replace_file(config_path, new_config)
        _replace_file(credentials_path, new_credentials)

    preview = [
        f"would set `credential_process = {commands[profile]}` in [{config_section(profile)}] "
        f"of {config_path}"
        for profile in sorted(profiles)
    ]
    preview.append(f"would remove the keys of {len(profiles)} profile(s) from {credentials_path}")
    notes = [SESSIONS_COST] if entries and session else []
    return Source(f"{credentials_path} (aws)", entries, clear, notes=notes, preview=preview)


def _path(variable: str, default: str) -> str:
    return os.path.abspath(os.path.expanduser(os.environ.get(variable) or default))


def _read(path: str, *, required: bool) -> tuple[str, bytes | None]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        if required:
            raise SourceError(f"{path} does not exist") from None
        return "", None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError:
        raise SourceError(f"{path} is not UTF-8 text") from None


def _credd_command() -> str:
    """credd by its absolute path: tools started from a desktop often lack ~/.local/bin."""
    running = sys.argv[0]
    if os.path.basename(running).startswith("credd") and os.path.isfile(running):
        found: str | None = os.path.abspath(running)
    else:
        found = shutil.which("credd")
    if found is None:
        raise SourceError("cannot tell where the credd command is (not on PATH)")
    return shlex.quote(os.path.abspath(found))


def _create(path: str, data: bytes) -> None:
    folder = os.path.dirname(path)
    os.makedirs(folder, 0o700, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
