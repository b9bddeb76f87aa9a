"""`credd import SOURCE`: move plaintext credentials into the encrypted store.

    credd import git                       ~/.git-credentials
    credd import docker                    $DOCKER_CONFIG/config.json or ~/.docker/config.json
    credd import keyring --service S --user U [--service S2 --user U2 ...]
    credd import ssh                       ~/.ssh/id_* (the same as `credd ssh-key import`)
    credd import aws                       ~/.aws/credentials, ~/.aws/config (import_aws.py)
    credd import kube                      $KUBECONFIG or ~/.kube/config (see import_kube.py)
    credd import PATH                      any of these files, or credd's JSON (detected)

Idempotent: a credential the store already holds with the same value is left alone; one it
holds with another value is a conflict, kept, unless ``--overwrite``. ``--dry-run`` shows
what would happen and writes nothing. The whole source is one request and one durable commit
(`POST /v1/import`): every credential is written, or none. ``--remove-source`` clears the
source only once every credential it holds is in the store (the commit acknowledged, so
durable, and read back):
the file is removed (docker: its plaintext logins dropped and ``credsStore`` set to
``credd``, replaced atomically; made with just that if there is none), keyring items
deleted. Any failure before that leaves the
source exactly as it was.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from credd_client import Client
from credd_client.errors import InvalidRequest

from .import_sources import PARSERS, Entry, SourceError, detect, docker_without


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "import",
        help="move plaintext credentials (git, docker, keyring, a file) into credd",
        description="SOURCE is git, docker, aws, kube, keyring (with --service and --user), "
        "ssh (~/.ssh/id_*, as `credd ssh-key import`) or the path of a git-credentials file, "
        "a docker config.json or a credd JSON file.",
    )
    parser.add_argument("source", metavar="SOURCE")
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would move; write nothing"
    )
    parser.add_argument(
        "--remove-source",
        action="store_true",
        help="clear the plaintext source once the store holds everything",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace credentials the store holds otherwise"
    )
    parser.add_argument("--service", action="append", default=[], help="keyring: the service")
    parser.add_argument("--user", action="append", default=[], help="keyring: the username")
    parser.add_argument(
        "--no-session",
        action="store_true",
        help="aws: `credd aws` hands out the stored keys, not STS session keys",
    )
    parser.set_defaults(run=run_import)


# Ten thousand credentials are one request of a few MiB and one commit: seconds, not ten.
IMPORT_TIMEOUT = 120.0
PAST = {"add": "added", "replace": "replaced", "unchanged": "unchanged", "conflict": "conflicts"}


@dataclass
class Source:
    """What was read, and how to clear it once the store holds it."""

    description: str
    entries: list[Entry]
    clear: Callable[[], None]
    notes: list[str] = field(default_factory=list)  # printed first: warnings, advice
    preview: list[str] = field(default_factory=list)  # what clearing would change, no values


def _open(args: argparse.Namespace) -> Source:
    if (args.service or args.user) and args.source != "keyring":
        raise InvalidRequest("--service and --user go with `credd import keyring`")
    try:
        return open_source(args)
    except SourceError as exc:
        raise InvalidRequest(str(exc)) from None


def run_import(args: argparse.Namespace) -> int:
    if args.source == "ssh":  # ~/.ssh/id_*: the same code path as `credd ssh-key import`
        from .sshkeys import import_keys

        return import_keys(
            [], dry_run=args.dry_run, remove_source=args.remove_source, allow_programs=[]
        )
    source = _open(args)
    entries = _first_of_each_name(source.entries)
    print(f"{source.description}: {len(entries)} credential(s)")
    for note in source.notes:
        print(note)
    verb = "would " if args.dry_run else ""
    counts = {"add": 0, "replace": 0, "unchanged": 0, "conflict": 0}
    bodies = [{**entry.body, "name": entry.name} for entry in entries]
    # One request, one durable commit for the whole source: all of it is written, or none.
    with Client(timeout=IMPORT_TIMEOUT) as client:
        results, _ = client.import_credentials(
            bodies, overwrite=args.overwrite, dry_run=args.dry_run
        )
        for entry, (_, action) in zip(entries, results, strict=True):
            counts[action] += 1
            if action == "conflict":
                print(
                    f"{'conflict':<13} {entry.name} ({entry.origin}): credd holds another "
                    "value; kept (--overwrite replaces it)"
                )
                continue
            label = action if action == "unchanged" else f"{verb}{action}"
            print(f"{label:<13} {entry.name} ({entry.origin})")
        words = PAST if not args.dry_run else {action: f"to {action}" for action in PAST}
        summary = ", ".join(f"{n} {words[action]}" for action, n in counts.items() if n)
        print(f"{'dry run: ' if args.dry_run else ''}{summary or 'nothing to import'}")
        if not args.remove_source:
            return 0
        if counts["conflict"]:
            print(
                "credd: the source is kept: it holds values the store does not (conflicts)",
                file=sys.stderr,
            )
            return 1
        if args.dry_run:
            for line in source.preview or [f"would clear {source.description}"]:
                print(line)
            return 0
        # The commit was acknowledged, so it is durable; read it back before the source goes.
        held, _ = client.import_credentials(bodies, dry_run=True)
        listed = {c.name: c for c in client.list()}
        for entry, (_, action) in zip(entries, held, strict=True):
            if action != "unchanged" and not _refreshed_since(entry, listed.get(entry.name)):
                print(f"credd: {entry.name} did not reach the store; the source is kept")
                return 1
    try:
        source.clear()
    except OSError as exc:
        raise InvalidRequest(
            f"the store holds everything, but clearing {source.description} failed: "
            f"{exc.strerror or type(exc).__name__}; it is as it was"
        ) from None
    print(f"cleared {source.description}")
    return 0


def _refreshed_since(entry: Entry, stored: Any) -> bool:
    """An oauth2 credential the daemon refreshed between the import and its read-back (an
    expired ID token is refreshed at once): the same grant, with new tokens."""
    body = entry.body
    return (
        body.get("kind") == "oauth2"
        and stored is not None
        and stored.kind == "oauth2"
        and (stored.token_endpoint, stored.client_id)
        == (body.get("token_endpoint"), body.get("client_id"))
    )


def _first_of_each_name(entries: list[Entry]) -> list[Entry]:
    """One entry per name: the first, as git's credential-store answers with the first line."""
    seen: dict[str, Entry] = {}
    for entry in entries:
        seen.setdefault(entry.name, entry)
    return list(seen.values())


def open_source(args: argparse.Namespace) -> Source:
    if args.no_session and args.source != "aws":
        raise SourceError("--no-session goes with `credd import aws`")
    if args.source == "keyring":
        return _keyring_source(args.service, args.user)
    if args.source in ("aws", "kube"):
        return _aws_source(args) if args.source == "aws" else _kube_source()
    if args.source == "git":
        return _file_source(os.path.expanduser("~/.git-credentials"), "git")
    if args.source == "docker":
        folder = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
        path = os.path.join(folder, "config.json")
        if not os.path.lexists(path):
            return _new_docker_config(path)
        return _file_source(path, "docker")
    return _file_source(os.path.abspath(os.path.expanduser(args.source)), None)


def _aws_source(args: argparse.Namespace) -> Source:
    from .import_aws import aws_source

    return aws_source(session=not args.no_session)


def _kube_source() -> Source:
    from .import_kube import KubeImport

    kube = KubeImport(os.environ)
    return Source(
        kube.description,
        kube.entries,
        lambda: kube.clear(_check_unchanged, _replace_file),
        notes=kube.notes,
        preview=kube.preview,
    )


def _file_source(path: str, kind: str | None) -> Source:
    try:
        with open(path, "rb") as handle:
            original = handle.read()
    except FileNotFoundError:
        raise SourceError(f"{path} does not exist") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError(f"{path} is not UTF-8 text") from None
    kind = kind or detect(text)
    entries = PARSERS[kind](text)

    def clear() -> None:
        _check_unchanged(path, original)
        if kind == "docker":
            servers = {entry.body["labels"]["registry"] for entry in entries}
            _replace_file(path, docker_without(text, servers).encode())
        else:
            os.unlink(path)

    return Source(f"{path} ({kind})", entries, clear)


def _new_docker_config(path: str) -> Source:
    """No config.json yet: nothing to import, and clearing it means making credd the store."""

    def clear() -> None:
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            os.makedirs(folder, 0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(docker_without("{}", set()))
            handle.flush()
            os.fsync(handle.fileno())

    return Source(f"{path} (docker, not there yet)", [], clear)


def _check_unchanged(path: str, original: bytes) -> None:
    with open(path, "rb") as handle:
        if handle.read() != original:
            raise InvalidRequest(
                f"{path} changed while importing; it is kept as it is: run the import again"
            )


def _replace_file(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with the file's mode: the old or the new, whole."""
    from credd_client.cli.atomicfile import FolderNotSynced, replace_file

    try:
        replace_file(path, data)
    except FolderNotSynced as exc:  # the new file is in place: not "it is as it was"
        raise InvalidRequest(
            f"cleared {path}, but could not sync its folder ({exc.strerror or exc}); "
            "the change may not survive a crash"
        ) from None


def _keyring_source(services: list[str], users: list[str]) -> Source:
    if not services or len(services) != len(users):
        raise SourceError("`credd import keyring` takes --service S --user U, in pairs")
    backend = _source_keyring()
    from credd_client.names import keyring_name

    entries: list[Entry] = []
    for service, user in zip(services, users, strict=True):
        try:
            secret = backend.get_password(service, user)
        except Exception as exc:  # each backend fails its own way
            raise SourceError(
                f"the keyring ({_describe(backend)}) failed to read {user!r} at {service!r}: "
                f"{type(exc).__name__}"
            ) from None
        if secret is None:
            raise SourceError(
                f"the keyring ({_describe(backend)}) has no item {user!r} at {service!r}"
            )
        labels = {"service": service}
        body = {"kind": "secret", "secret": secret, "username": user, "labels": labels}
        entries.append(Entry(keyring_name(service, user), body, f"{service} / {user}"))

    def clear() -> None:
        for service, user in zip(services, users, strict=True):
            try:
                backend.delete_password(service, user)
            except Exception as exc:  # each backend fails its own way
                raise InvalidRequest(
                    f"the store holds everything, but deleting {user!r} at {service!r} from "
                    f"the keyring failed ({type(exc).__name__}); delete it yourself"
                ) from None

    return Source(f"the keyring ({_describe(backend)})", entries, clear)


def _source_keyring() -> Any:
    """The user's keyring backend, as `keyring` chooses it; never credd's own backend."""
    import keyring

    from credd_client.keyring_backend import CreddKeyring

    backend = keyring.get_keyring()
    chained = getattr(backend, "backends", [backend])
    if isinstance(backend, CreddKeyring) or any(isinstance(b, CreddKeyring) for b in chained):
        raise SourceError(
            "your keyring backend is credd itself (PYTHON_KEYRING_BACKEND or keyringrc.cfg); "
            "select the keyring to import from, e.g. PYTHON_KEYRING_BACKEND="
            "keyring.backends.SecretService.Keyring"
        )
    return backend


def _describe(backend: Any) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"
