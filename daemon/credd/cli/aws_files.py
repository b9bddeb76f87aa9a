"""AWS's shared files, sans I/O: read the credentials file, rewrite both files to call credd.

- ``~/.aws/credentials`` (or ``AWS_SHARED_CREDENTIALS_FILE``): each section is a profile;
  ``aws_access_key_id`` and ``aws_secret_access_key`` (and ``aws_session_token``) are its keys.
- ``~/.aws/config`` (or ``AWS_CONFIG_FILE``): ``[default]`` and ``[profile NAME]`` sections,
  NAME read as the AWS SDKs read it (split like a shell, so ``[profile 'a b']`` is "a b").

The rewrites work on lines: only the key lines (and a section left with no setting) go from
the credentials file, only ``credential_process`` is set in the config; every other line,
comments included, stays byte for byte. Errors name the line, never its text (it may hold a
key).
"""

from __future__ import annotations

import configparser
import re
import shlex
from dataclasses import dataclass, field

from .import_sources import Entry, SourceError

KEY_OPTIONS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
# botocore still reads this old name of aws_session_token.
REMOVED_OPTIONS = (*KEY_OPTIONS, "aws_security_token")
# What a profile of the config file may add to its credential in credd.
CONFIG_OPTIONS = ("region", "mfa_serial")
_SECTION = re.compile(r"\[(?P<header>.+)\]")
_OPTION = re.compile(r"(?P<option>[^=:\s][^=:]*?)\s*[=:]")


@dataclass(frozen=True)
class Profile:
    name: str
    values: dict[str, str] = field(repr=False)


def credential_name(profile: str) -> str:
    return f"aws:{profile}"


def parse_ini(text: str, what: str) -> dict[str, dict[str, str]]:
    """Sections and their options, as botocore reads them; a clear error on a broken file."""
    parser = configparser.RawConfigParser(interpolation=None, strict=True)
    try:
        parser.read_string(text)
    except configparser.MissingSectionHeaderError as exc:
        raise SourceError(f"{what}, line {exc.lineno}: a setting before any [section]") from None
    except configparser.DuplicateSectionError as exc:
        raise SourceError(f"{what}, line {exc.lineno}: the section appears twice") from None
    except configparser.DuplicateOptionError as exc:
        raise SourceError(
            f"{what}, line {exc.lineno}: {exc.option!r} appears twice in its section"
        ) from None
    except configparser.ParsingError as exc:
        lines = ", ".join(str(number) for number, _ in exc.errors)
        raise SourceError(f"{what}: line {lines} is not `name = value` nor a [section]") from None
    except configparser.Error as exc:
        raise SourceError(f"{what} is not an INI file ({type(exc).__name__})") from None
    return {section: dict(parser.items(section)) for section in parser.sections()}


def config_profile_name(section: str) -> str | None:
    """The profile a config file section is for (``default``, ``profile NAME``), or None."""
    if section == "default":
        return "default"
    if not section.startswith("profile"):
        return None
    try:
        parts = shlex.split(section)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 and parts[0] == "profile" else None


def config_section(profile: str) -> str:
    return "default" if profile == "default" else f"profile {shlex.quote(profile)}"


def profile_entries(
    credentials: dict[str, dict[str, str]], config: dict[str, dict[str, str]], what: str
) -> list[Entry]:
    """An `aws` PUT body (plus its name) per profile of the credentials file holding keys."""
    settings = {config_profile_name(section): values for section, values in config.items()}
    entries: list[Entry] = []
    for profile, values in credentials.items():
        key_id = values.get("aws_access_key_id", "").strip()
        secret = values.get("aws_secret_access_key", "").strip()
        if not key_id and not secret:
            continue  # a profile without keys here: nothing to move
        if not key_id or not secret:
            raise SourceError(
                f"{what}: the profile {profile!r} needs both aws_access_key_id and "
                "aws_secret_access_key"
            )
        body: dict[str, object] = {
            "kind": "aws",
            "access_key_id": key_id,
            "secret": secret,
            "labels": {"profile": profile},
        }
        token = (values.get("aws_session_token") or values.get("aws_security_token") or "").strip()
        if token:
            body.update(session_token=token, session=False)
        for option in CONFIG_OPTIONS:
            value = settings.get(profile, {}).get(option, "").strip()
            if value:
                body[option] = value
        entries.append(Entry(credential_name(profile), body, f"[{profile}]"))
    return entries


def credentials_without_keys(text: str, profiles: set[str]) -> str:
    """The credentials file with the key lines of ``profiles`` gone (and a section header left
    with no setting), every other line as it was."""
    kept: list[list[str]] = []  # a section per item, the lines before any section first
    names: list[str | None] = [None]
    current: list[str] = []
    kept.append(current)
    dropping_continuation = False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        header = _SECTION.match(stripped)
        if header is not None and not line[:1].isspace():
            current = [line]
            kept.append(current)
            names.append(header.group("header"))
            dropping_continuation = False
            continue
        if dropping_continuation and line[:1].isspace() and stripped:
            continue
        dropping_continuation = False
        option = _OPTION.match(stripped)
        if (
            names[-1] in profiles
            and option is not None
            and not line[:1].isspace()
            and option.group("option").strip().lower() in REMOVED_OPTIONS
        ):
            dropping_continuation = True
            continue
        current.append(line)
    out: list[str] = []
    for name, lines in zip(names, kept, strict=True):
        emptied = name in profiles and not any(_is_setting(line) for line in lines[1:])
        out.extend(lines[1:] if emptied else lines)  # the header of a section left empty goes
    return "".join(out)


def config_with_process(text: str, commands: dict[str, str]) -> str:
    """The config file with ``credential_process = COMMAND`` set in each profile's section
    (added at the end for a profile it lacks), every other line as it was."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    sections: list[tuple[str | None, int, int]] = []  # profile, first line, end (exclusive)
    start, profile = 0, None
    for number, line in enumerate(lines):
        header = _SECTION.match(line.strip())
        if header is not None and not line[:1].isspace():
            sections.append((profile, start, number))
            start, profile = number, config_profile_name(header.group("header"))
    sections.append((profile, start, len(lines)))
    out: list[str] = []
    done: set[str] = set()
    for section_profile, first, end in sections:
        body = lines[first:end]
        if section_profile in commands and section_profile not in done:
            body = _set_process(body, commands[section_profile])
            done.add(section_profile)
        out.extend(body)
    for name, command in commands.items():
        if name not in done:
            if out and out[-1].strip():
                out.append("\n")
            out.append(f"[{config_section(name)}]\n")
            out.append(f"credential_process = {command}\n")
    return "".join(out)


def _set_process(section: list[str], command: str) -> list[str]:
    line = f"credential_process = {command}\n"
    for index, existing in enumerate(section[1:], start=1):
        option = _OPTION.match(existing.strip())
        if (
            option is not None
            and not existing[:1].isspace()
            and option.group("option").strip().lower() == "credential_process"
        ):
            return [*section[:index], line, *section[index + 1 :]]
    last = max((i for i, text in enumerate(section) if _is_setting(text)), default=0)
    return [*section[: last + 1], line, *section[last + 1 :]]


def _is_setting(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith(("#", ";"))
