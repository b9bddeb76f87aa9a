"""`credd ssh-key ...` and `credd ssh-agent`: SSH keys held by credd, served as an agent.

    credd ssh-key import [PATH...] [--remove-source] [--dry-run]   default: ~/.ssh/id_*
    credd ssh-key generate NAME [--type ed25519|ecdsa|rsa] [--comment C]
    credd ssh-key list [--json] | delete NAME | order NAME... | offer NAME...
    credd ssh-agent [-s|-c|--fish|--powershell|--cmd] [--install]

Import reads each private key file here (asking an encrypted one's passphrase once, on the
terminal), sends the daemon the unencrypted key over the private socket, and with
``--remove-source`` removes the private file only after the store holds the key durably and
a second look (a dry run) finds it there; the ``.pub`` file stays. `credd import ssh` is the
same code path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credd_client import Client
from credd_client._paths import OPENSSH_AGENT_PIPE, agent_socket_path
from credd_client.cli.credentials import program_path
from credd_client.errors import InvalidRequest, NotFound

# Files `~/.ssh/id_*` that are not private keys credd takes: public keys, certificates (not
# covered yet) and FIDO security keys (their private part lives on the token).
SKIPPED_SUFFIXES = (".pub",)
SECURITY_KEY_SUFFIX = "_sk"
IMPORT_TIMEOUT = 60.0


def register(commands: Any) -> None:
    keys = commands.add_parser(
        "ssh-key",
        help="SSH keys held by credd: import, generate, list, delete, order, offer",
        description="credd holds SSH keys in its encrypted store and serves them as an SSH "
        "agent (`credd ssh-agent` prints SSH_AUTH_SOCK).",
    )
    sub = keys.add_subparsers(dest="ssh_command", metavar="COMMAND", required=True)

    importing = sub.add_parser("import", help="move private key files into credd")
    add_import_arguments(importing)
    importing.set_defaults(run=run_import)

    generate = sub.add_parser("generate", help="make a key in credd; prints its public key line")
    generate.add_argument("name")
    generate.add_argument("--type", choices=("ed25519", "ecdsa", "rsa"), default="ed25519")
    generate.add_argument("--comment", default="")
    _allow_program(generate)
    generate.set_defaults(run=run_generate)

    listing = sub.add_parser("list", help="the keys, in the order the agent offers them")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)

    delete = sub.add_parser("delete", help="delete a key from the store (the only way to)")
    delete.add_argument("name")
    delete.set_defaults(run=run_delete)

    order = sub.add_parser("order", help="offer these keys first, in this order")
    order.add_argument("names", nargs="+", metavar="NAME")
    order.set_defaults(run=run_order)

    offer = sub.add_parser("offer", help="offer keys again that `ssh-add -d` stopped offering")
    offer.add_argument("names", nargs="+", metavar="NAME")
    offer.set_defaults(run=run_offer)

    agent = commands.add_parser(
        "ssh-agent",
        help="print the lines that point SSH_AUTH_SOCK at credd's agent",
        description='Like `ssh-agent -s/-c`: put `eval "$(credd ssh-agent)"` in your shell '
        "profile. --install adds an IdentityAgent line to ~/.ssh/config for programs that "
        "read no shell profile.",
    )
    shells = agent.add_mutually_exclusive_group()
    shells.add_argument("-s", dest="shell", action="store_const", const="sh", help="sh syntax")
    shells.add_argument("-c", dest="shell", action="store_const", const="csh", help="csh syntax")
    shells.add_argument("--fish", dest="shell", action="store_const", const="fish")
    shells.add_argument(
        "--powershell",
        dest="shell",
        action="store_const",
        const="powershell",
        help="PowerShell (the default on Windows): `credd ssh-agent | Invoke-Expression`",
    )
    shells.add_argument("--cmd", dest="shell", action="store_const", const="cmd", help="cmd.exe")
    agent.add_argument(
        "--install", action="store_true", help="add `IdentityAgent` to ~/.ssh/config"
    )
    agent.set_defaults(run=run_agent)


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="private key files (default: ~/.ssh/id_*)"
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would move")
    parser.add_argument(
        "--remove-source",
        action="store_true",
        help="remove each private key file once the store holds it (the .pub stays)",
    )
    _allow_program(parser)


def _allow_program(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-program",
        action="append",
        default=[],
        metavar="PROGRAM",
        help="only this program may sign with the key (repeatable: ssh, ssh-keygen)",
    )


# --- import ----------------------------------------------------------------------------------


@dataclass
class KeyFile:
    path: Path
    private_key: str = field(repr=False)  # unencrypted OpenSSH text, for the daemon only
    comment: str = ""


def default_key_files(ssh_folder: Path) -> list[Path]:
    """``~/.ssh/id_*`` that may be private keys, and a note for each skipped file."""
    found = []
    for path in sorted(ssh_folder.glob("id_*")):
        if not path.is_file() or path.name.endswith(SKIPPED_SUFFIXES):
            continue
        if path.name.endswith(SECURITY_KEY_SUFFIX):
            print(
                f"skipped       {path}: a FIDO security key (its private part is on the "
                "token); left alone",
                file=sys.stderr,
            )
            continue
        found.append(path)
    return found


def read_key_file(path: Path) -> KeyFile:
    """The key in ``path``, decrypted (its passphrase asked once, on the terminal)."""
    from ..sshagent.keys import BadKey, PassphraseNeeded, load_file

    if path.name.endswith(".pub"):
        raise InvalidRequest(f"{path} is a public key; give the private key file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read {path}: {exc.strerror or exc}") from None
    comment = _pub_comment(path)
    try:
        try:
            key = load_file(data, None, comment)
        except PassphraseNeeded:
            key = load_file(data, _passphrase(path), comment)
    except BadKey as exc:
        raise InvalidRequest(f"{path}: {exc}; nothing was stored") from None
    return KeyFile(path, key.private_text(), key.comment)


def _pub_comment(path: Path) -> str:
    """The comment of the key's .pub file (an encrypted private file hides its own)."""
    try:
        parts = path.with_name(path.name + ".pub").read_text().split(maxsplit=2)
    except (OSError, UnicodeDecodeError):
        return ""
    return parts[2].strip() if len(parts) == 3 else ""


def _passphrase(path: Path) -> bytes:
    if not sys.stdin.isatty():
        raise InvalidRequest(
            f"{path} is encrypted and its passphrase is asked on a terminal; nothing was stored"
        )
    import getpass

    return getpass.getpass(f"Passphrase for {path}: ").encode()


def run_import(args: argparse.Namespace) -> int:
    return import_keys(
        [Path(p).expanduser() for p in args.paths],
        dry_run=args.dry_run,
        remove_source=args.remove_source,
        allow_programs=args.allow_program,
    )


def import_keys(
    paths: list[Path], *, dry_run: bool, remove_source: bool, allow_programs: list[str]
) -> int:
    """`credd ssh-key import` and `credd import ssh`: one code path."""
    if not paths:
        paths = default_key_files(Path.home() / ".ssh")
        if not paths:
            print("no private keys in ~/.ssh (id_*)")
            return 0
    files = [read_key_file(path) for path in paths]
    programs = [program_path(p) for p in allow_programs]
    bodies = [
        {
            "stem": f.path.stem,
            "private_key": f.private_key,
            "comment": f.comment,
            "allowed_programs": programs,
        }
        for f in files
    ]
    verb = "would " if dry_run else ""
    with Client(timeout=IMPORT_TIMEOUT) as client:
        results, _ = client.import_ssh_keys(bodies, dry_run=dry_run)
        for key_file, (name, action, fingerprint) in zip(files, results, strict=True):
            label = action if action == "unchanged" else f"{verb}{action}"
            print(f"{label:<13} {name} {fingerprint} ({key_file.path})")
        if not remove_source:
            return 0
        if dry_run:
            for key_file in files:
                print(f"would remove  {key_file.path}")
            return 0
        # Acknowledged means durable; look again before the only other copy goes.
        held, _ = client.import_ssh_keys(bodies, dry_run=True)
        stored = {fingerprint for _, action, fingerprint in held if action == "unchanged"}
        listed = {c.fingerprint for c in client.ssh_keys()}
    code = 0
    for key_file, (_, _, fingerprint) in zip(files, held, strict=True):
        if fingerprint not in stored or fingerprint not in listed:
            print(f"credd: {key_file.path} did not reach the store; kept", file=sys.stderr)
            code = 1
            continue
        key_file.path.unlink()
        print(f"removed       {key_file.path}")
    return code


# --- the other key commands ------------------------------------------------------------------


def run_generate(args: argparse.Namespace) -> int:
    programs = [program_path(p) for p in args.allow_program]
    with Client(timeout=IMPORT_TIMEOUT) as client:
        credential = client.generate_ssh_key(args.name, args.type, args.comment, programs)
    print(credential.secret)
    return 0


def run_list(args: argparse.Namespace) -> int:
    with Client() as client:
        keys = client.ssh_keys()
    if args.json:
        print(json.dumps({"keys": [k.to_json() for k in keys]}, indent=2, ensure_ascii=False))
        return 0
    for key in keys:
        offered = "offered" if key.offered else "not offered"
        fields = (key.name, key.key_type or "", key.fingerprint or "", offered, key.comment or "")
        print("\t".join(fields))
    return 0


def run_delete(args: argparse.Namespace) -> int:
    with Client() as client:
        if client.get(args.name).kind != "ssh-key":
            raise NotFound(f"{args.name!r} is not an ssh-key (`credd delete` removes it)")
        client.delete(args.name)
    print(f"deleted {args.name}")
    return 0


def run_order(args: argparse.Namespace) -> int:
    with Client() as client:
        keys = client.order_ssh_keys(args.names)
    for key in keys:
        print(key.name)
    return 0


def run_offer(args: argparse.Namespace) -> int:
    with Client() as client:
        client.offer_ssh_keys(args.names)
    return 0


# --- credd ssh-agent -------------------------------------------------------------------------


def agent_lines(path: str, shell: str) -> str:
    """What `ssh-agent -s/-c` print, for credd's socket (no pid: credd's is not to kill); on
    Windows (PowerShell, cmd) for its pipe."""
    if shell in ("powershell", "cmd"):
        return windows_agent_lines(path, shell)
    quoted = "'" + path.replace("'", "'\\''") + "'"
    if shell == "csh":
        return f"setenv SSH_AUTH_SOCK {quoted};\n"
    if shell == "fish":
        return f"set -gx SSH_AUTH_SOCK {quoted};\n"
    return f"SSH_AUTH_SOCK={quoted}; export SSH_AUTH_SOCK;\n"


def windows_agent_lines(pipe: str, shell: str) -> str:
    """Windows: the line that points SSH_AUTH_SOCK at credd's pipe; for OpenSSH's default pipe,
    comments saying it needs no setting and that Windows' own agent service must not hold it."""
    comment = "REM" if shell == "cmd" else "#"
    notes = []
    if pipe == OPENSSH_AGENT_PIPE:
        notes = [
            f"{comment} OpenSSH for Windows' ssh and ssh-add open {pipe} when SSH_AUTH_SOCK is "
            "unset: this line only undoes another agent's setting.",
            f"{comment} Windows' own ssh-agent service serves that pipe too; stop and disable it "
            "(as administrator):",
            f"{comment}   Stop-Service ssh-agent; Set-Service ssh-agent -StartupType Disabled",
        ]
    if shell == "cmd":
        setting = f"set SSH_AUTH_SOCK={pipe}"
    else:
        setting = "$env:SSH_AUTH_SOCK = '" + pipe.replace("'", "''") + "'"
    return "".join(line + "\n" for line in [*notes, setting])


def _shell_of(environment: str) -> str:
    if sys.platform == "win32":
        return "powershell"
    name = os.path.basename(environment)
    if name.endswith("csh"):
        return "csh"
    return "fish" if name == "fish" else "sh"


def agent_address() -> str:
    """Where credd's agent listens: its socket; on Windows its pipe, as config.toml names it."""
    if sys.platform != "win32":
        return agent_socket_path()
    from ..config import load_config
    from ..paths import agent_pipe, resolve_paths

    return agent_pipe(load_config(resolve_paths().config_file).ssh_agent_pipe, os.environ)


def identity_agent_line(path: str) -> str:
    """``IdentityAgent`` for ``path``, as ssh_config reads it back."""
    return f"IdentityAgent {ssh_config_path(path)}"


def ssh_config_path(path: str) -> str:
    """``path`` as one ssh_config argument (a config line, or `ssh -o`): quoted, for a blank;
    inside the quotes ssh takes a backslash as an escape (a Windows pipe's `\\\\.\\pipe\\...`
    would lose one) and ``%`` as a token."""
    quoted = path.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{quoted}"'


def install_identity_agent(config: Path, path: str) -> bool:
    """Put ``Host *`` / ``IdentityAgent`` at the top of ``config`` (ssh takes the first
    value it reads); False when it is there already."""
    line = identity_agent_line(path)
    try:
        current = config.read_text()
    except FileNotFoundError:
        current = ""
    if line in current:
        return False
    config.parent.mkdir(mode=0o700, exist_ok=True)
    block = f"# credd's SSH agent (credd ssh-agent --install)\nHost *\n  {line}\n\n"
    temporary = config.with_name(config.name + ".credd-new")
    temporary.write_text(block + current)
    os.chmod(temporary, 0o600)
    os.replace(temporary, config)
    return True


def run_agent(args: argparse.Namespace) -> int:
    from ..config import ConfigError

    try:
        path = agent_address()
    except ConfigError as exc:
        raise InvalidRequest(str(exc)) from None
    if args.install:
        config = Path.home() / ".ssh" / "config"
        if install_identity_agent(config, path):
            print(f"added to {config}: Host * / {identity_agent_line(path)}")
        else:
            print(f"{config} already has {identity_agent_line(path)}")
        return 0
    sys.stdout.write(agent_lines(path, args.shell or _shell_of(os.environ.get("SHELL", ""))))
    return 0
