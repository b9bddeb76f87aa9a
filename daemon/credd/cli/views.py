"""`credd view add|list|remove` and `credd ssh`: views, and a view forwarded over SSH."""

from __future__ import annotations

import argparse
import json
import sys

from credd_client import Client
from credd_client.errors import InvalidRequest, NotFound

TYPE_CHECKING = False  # `typing` costs milliseconds at every `credd get` start
if TYPE_CHECKING:
    from typing import Any

# ssh's options that take an argument (OpenSSH 9's getopt string): how SSH ARGS are split
# into the connection's options, which the folder-making call needs too, and the command.
_SSH_OPTIONS_WITH_VALUE = frozenset("BbcDEeFIiJLlmOoPpQRSWw")
# Options that make sense for the session but not for the short call that makes the folder.
_SSH_SESSION_ONLY = frozenset("NfnsTtWLRD")
# Run by the remote user's shell: where that user's clients look for the socket (as
# credd_client._paths decides), the folder made 0700 and checked to be the user's own and a
# real folder: `[ -O ]` and chmod follow a symbolic link, so a link is refused before either.
_REMOTE_FOLDER_SCRIPT = (
    "umask 077; s=${CREDD_SOCKET:-}; "
    'if [ -z "$s" ]; then if [ -n "${XDG_RUNTIME_DIR:-}" ]; '
    'then s="$XDG_RUNTIME_DIR/credd/credd.sock"; else s="/tmp/credd-$(id -u)/credd.sock"; fi; fi; '
    'd=$(dirname "$s"); '
    'if [ -L "$d" ]; then echo "$d is a symbolic link" >&2; exit 4; fi; '
    'mkdir -p "$d" || exit 3; '
    'if [ -L "$d" ]; then echo "$d is a symbolic link" >&2; exit 4; fi; '
    '[ -d "$d" ] && [ -O "$d" ] || { echo "$d belongs to another user" >&2; exit 4; }; '
    'chmod 700 "$d" || exit 3; printf "credd-socket=%s\\n" "$s"'
)
# What the remote may name as the forward's end: an absolute path of these characters only,
# so its answer can neither become a TCP listener (`0.0.0.0:8022`) nor reshape `-R A:B`.
_SAFE_REMOTE_PATH = r"/[A-Za-z0-9._+@/-]*"
# Longest socket path the remote's kernel binds (sun_path less its terminating NUL, macOS's).
_MAX_REMOTE_PATH = 103
SSH_VIEW_TTL = "12h"


def register(commands: Any) -> None:
    view = commands.add_parser(
        "view",
        help="make, list and remove views (sockets exposing only some credentials)",
        description="A view is a second socket of the daemon that serves only the credentials "
        "whose names match its patterns, read-only unless --write, until its --ttl ends.",
    )
    actions = view.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="make (or replace) a view and print its socket")
    add.add_argument("name", help="a plain word: letters, digits, '-' and '_'")
    add.add_argument(
        "--allow",
        action="extend",
        nargs="+",
        default=[],
        metavar="PATTERN",
        help="a glob on credential names, e.g. 'git:https://github.com/*' (repeatable)",
    )
    add.add_argument(
        "--ssh-key",
        action="extend",
        nargs="+",
        default=[],
        metavar="PATTERN",
        help="a glob on ssh-key names: the view's agent socket offers these only (repeatable)",
    )
    add.add_argument("--json", action="store_true", help="print the view, both sockets too")
    add.add_argument("--write", action="store_true", help="allow set and delete of matching names")
    add.add_argument("--ttl", metavar="DURATION", help="how long the view lives: 90s, 15m, 8h, 2d")
    add.add_argument(
        "--uid",
        action="append",
        type=_uid,
        default=[],
        help="another uid the socket admits, e.g. a container's user (repeatable)",
    )
    add.set_defaults(run=run_add)

    listing = actions.add_parser("list", help="list the views")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)

    remove = actions.add_parser("remove", help="remove a view; its socket closes at once")
    remove.add_argument("name")
    remove.set_defaults(run=run_remove)

    ssh = commands.add_parser(
        "ssh",
        help="ssh to a machine with a view forwarded where its credd clients look",
        description="Runs the system's ssh with a view of this daemon forwarded (-R) onto the "
        "remote user's default credd socket, so git, credd get and the helpers work there. "
        "The view is made with --allow (and replaced if it exists), else reused.",
    )
    ssh.add_argument("--view", metavar="NAME", help="the view's name (default: ssh-HOST)")
    ssh.add_argument("--allow", action="append", default=[], metavar="PATTERN")
    ssh.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="PATTERN",
        help="forward an SSH agent offering only the keys whose names match (repeatable)",
    )
    ssh.add_argument("--ttl", metavar="DURATION", help=f"default {SSH_VIEW_TTL} for a new view")
    ssh.add_argument("destination")
    ssh.add_argument("ssh_args", nargs=argparse.REMAINDER, metavar="SSH ARGS")
    ssh.set_defaults(run=run_ssh)


def _uid(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"a uid is a whole number, not {text!r}")
    return int(text)


def _checked_name(name: str) -> str:
    from ..views.policy import check_view_name

    return check_view_name(name)


def run_add(args: argparse.Namespace) -> int:
    _checked_name(args.name)
    if not args.allow and not args.ssh_key:
        raise InvalidRequest("give the credentials it serves: --allow, --ssh-key, or both")
    body = {
        "patterns": args.allow,
        "write": args.write,
        "ttl": args.ttl,
        "uids": args.uid,
        "ssh_keys": args.ssh_key,
    }
    with Client(autostart=False) as client:
        view = client.put_view(args.name, body)
    if args.json:
        print(json.dumps(view, indent=2))
    elif args.ssh_key and not args.allow:
        print(view["agent_socket"])
    else:
        print(view["socket"])
    return 0


def run_list(args: argparse.Namespace) -> int:
    with Client(autostart=False) as client:
        views = client.views()
    if args.json:
        print(json.dumps(views, indent=2))
        return 0
    for view in views:
        print(describe_view(view))
    return 0


def describe_view(view: dict[str, Any]) -> str:
    """One line: name, socket, patterns, access, uids, expiry, use."""
    parts = [
        view["name"],
        view["socket"],
        "allow " + " ".join(view["patterns"]),
        "read-write" if view["write"] else "read-only",
    ]
    if view["uids"]:
        parts.append("uids " + ",".join(map(str, view["uids"])))
    parts.append(f"expires {view['expires_at']}" if view["expires_at"] else "no expiry")
    last = view["last_used_at"] or "never"
    parts.append(f"{view['requests']} requests, last {last}")
    return "  ".join(parts)


def run_remove(args: argparse.Namespace) -> int:
    _checked_name(args.name)
    with Client(autostart=False) as client:
        client.delete_view(args.name)
    print(f"view {args.name} removed")
    return 0


# --- credd ssh -------------------------------------------------------------------------------


def run_ssh(args: argparse.Namespace) -> int:
    import shutil
    import subprocess

    ssh = shutil.which("ssh")
    if ssh is None:
        print(
            "credd: ssh is not installed (no `ssh` on PATH); nothing was changed", file=sys.stderr
        )
        return 1
    name = _checked_name(args.view or default_view_name(args.destination))
    if args.agent and not args.allow:  # --agent alone forwards no HTTP view
        return run_ssh_agent_only(ssh, name, args)
    options, _command = split_ssh_args(args.ssh_args)
    # Order: everything that can be checked here first, then the remote folder, and only
    # then the view, so a failure leaves no new view behind.
    with Client(autostart=False) as client:
        existing = _existing_view(client, name, args.allow, args.ttl)
        remote = _remote_socket(ssh, args.destination, options)
        if remote is None:
            return 1
        view = existing or client.put_view(
            name,
            {"patterns": args.allow, "ttl": args.ttl or SSH_VIEW_TTL, "ssh_keys": args.agent},
        )
    forwarding = forward_options(f"{remote}:{view['socket']}") + _agent_forward(view)
    command = session_command(ssh, forwarding, args.destination, args.ssh_args)
    print(f"credd: forwarding the view {name} to {args.destination}:{remote}", file=sys.stderr)
    import signal

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the session's to handle
    try:
        code = subprocess.call(command)
    finally:
        signal.signal(signal.SIGINT, previous)
    if code == 255:
        print(
            f"credd: ssh failed (exit 255). If the forward was refused, a stale {remote} on "
            f"{args.destination} is in the way: set `StreamLocalBindUnlink yes` in its "
            "sshd_config, or remove that file",
            file=sys.stderr,
        )
    return code


def _agent_forward(view: dict[str, Any]) -> list[str]:
    """OpenSSH's own agent forwarding (8.2 and later) of the view's agent socket, if any."""
    from .sshkeys import ssh_config_path

    agent = view.get("agent_socket")
    return [] if not agent else ["-o", f"ForwardAgent={ssh_config_path(agent)}"]


def run_ssh_agent_only(ssh: str, name: str, args: argparse.Namespace) -> int:
    """`credd ssh --agent PATTERN... DESTINATION`: a view with only an agent socket, made
    (or replaced) for this session and forwarded with `-o ForwardAgent=`; the remote gets
    SSH_AUTH_SOCK the usual way, listing and signing with the named keys only."""
    import subprocess

    body = {"ssh_keys": args.agent, "ttl": args.ttl or SSH_VIEW_TTL}
    with Client(autostart=False) as client:
        view = client.put_view(name, body)
    command = session_command(ssh, _agent_forward(view), args.destination, args.ssh_args)
    print(
        f"credd: forwarding an agent with {', '.join(args.agent)} to {args.destination}",
        file=sys.stderr,
    )
    return subprocess.call(command)


def default_view_name(destination: str) -> str:
    """``ssh-`` and the destination as a plain word; where that word had to change the
    destination, a short hash of it too, so ``alice@dev.box`` and ``dev-box:2222`` differ."""
    import hashlib

    target = destination.removeprefix("ssh://")
    word = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in target)
    word = word.strip("-_")
    if word == target and len(word) <= 60:
        return "ssh-" + word
    digest = hashlib.sha256(target.encode()).hexdigest()[:8]
    return "-".join(part for part in ("ssh", word[:51].rstrip("-_"), digest) if part)


def checked_remote_socket(answer: str) -> str:
    """The remote's socket path, only if it is safe to put into ``-R PATH:VIEW``."""
    import re

    if (
        len(answer) > _MAX_REMOTE_PATH
        or not re.fullmatch(_SAFE_REMOTE_PATH, answer)
        or any(part in (".", "..") for part in answer.split("/"))
    ):
        shown = answer[:120].encode("ascii", "backslashreplace").decode()
        raise InvalidRequest(
            f"the remote named {shown!r} as its credd socket: credd forwards only onto an "
            f"absolute path of letters, digits and . _ + @ / - ({_MAX_REMOTE_PATH} characters "
            "at most, no '.' or '..' parts); check CREDD_SOCKET and XDG_RUNTIME_DIR there"
        )
    return answer


def forward_options(forward: str) -> list[str]:
    """The view's socket forwarded onto the remote path (``REMOTE:LOCAL``); a forward that
    fails is an error, not a session without it."""
    return ["-o", "ExitOnForwardFailure=yes", "-R", forward]


def session_command(
    ssh: str, forwarding: list[str], destination: str, ssh_args: list[str]
) -> list[str]:
    """ssh with the forwarding options; ``--`` ends the options, so no destination is read as
    one, and ssh takes everything after the destination as the remote command."""
    options, command = split_ssh_args(ssh_args)
    return [ssh, *forwarding, *options, "--", destination, *command]


def split_ssh_args(args: list[str]) -> tuple[list[str], list[str]]:
    """ssh's options (the connection's) and what follows them (the remote command)."""
    options: list[str] = []
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        arg = args[i]
        if arg == "--":
            return options, args[i + 1 :]
        options.append(arg)
        if len(arg) == 2 and arg[1] in _SSH_OPTIONS_WITH_VALUE and i + 1 < len(args):
            options.append(args[i + 1])
            i += 1
        i += 1
    return options, args[i:]


def _connection_options(options: list[str]) -> list[str]:
    kept: list[str] = []
    i = 0
    while i < len(options):
        arg = options[i]
        takes_value = len(arg) == 2 and arg[1] in _SSH_OPTIONS_WITH_VALUE
        if len(arg) >= 2 and arg[1] in _SSH_SESSION_ONLY:
            i += 2 if takes_value else 1
            continue
        kept.append(arg)
        if takes_value and i + 1 < len(options):
            kept.append(options[i + 1])
            i += 1
        i += 1
    return kept


def _existing_view(
    client: Client, name: str, allow: list[str], ttl: str | None
) -> dict[str, Any] | None:
    """The view to reuse; None when --allow makes a new one (its input checked here)."""
    if allow:
        from ..views.policy import check_pattern, parse_duration

        for pattern in allow:
            check_pattern(pattern)
        parse_duration(ttl or SSH_VIEW_TTL)
        client.status()  # a daemon answers: otherwise stop before touching the remote
        return None
    for view in client.views():
        if view["name"] == name:
            if ttl is not None:
                raise InvalidRequest("--ttl applies to a new view: give --allow too")
            return view
    raise NotFound(
        f"no view named {name!r}: give the credentials it may read, e.g. "
        f"`credd ssh --allow 'git:https://github.com/*' ...`"
    )


def _remote_socket(ssh: str, destination: str, options: list[str]) -> str | None:
    """Make the remote socket folder (0700, the remote user's); the socket path, or None."""
    import subprocess

    script = f"sh -c '{_REMOTE_FOLDER_SCRIPT}'"
    command = [ssh, *_connection_options(options), "--", destination, script]
    try:
        done = subprocess.run(
            command,
            check=False,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"credd: cannot run ssh to {destination}: {exc}", file=sys.stderr)
        return None
    for line in done.stdout.splitlines():
        if line.startswith("credd-socket=") and done.returncode == 0:
            try:
                return checked_remote_socket(line.removeprefix("credd-socket="))
            except InvalidRequest as exc:
                print(f"credd: refused: {exc}", file=sys.stderr)
                return None
    error = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
    print(
        f"credd: cannot make the remote socket folder on {destination}: {error[0]}",
        file=sys.stderr,
    )
    return None
