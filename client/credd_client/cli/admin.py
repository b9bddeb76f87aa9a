"""`credd status|lock|unlock`: the daemon's health and its lock."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys

from credd_client import Client, CreddError, DaemonTimeout, DaemonUnavailable
from credd_client._paths import agent_socket_path

from .. import __version__

TYPE_CHECKING = False  # `typing` costs milliseconds at every `credd get` start
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def register(commands: Any) -> None:
    status = commands.add_parser("status", help="show the daemon's health at a glance")
    status.add_argument("--json", action="store_true", help="machine-readable; exit 3 if down")
    status.set_defaults(run=run_status)

    lock = commands.add_parser("lock", help="drop the key and every plaintext from memory")
    lock.set_defaults(run=run_lock)

    unlock = commands.add_parser(
        "unlock",
        help="fetch the key again (asks for the passphrase of a passphrase store)",
    )
    unlock.set_defaults(run=run_unlock)


def run_status(args: argparse.Namespace) -> int:
    try:
        with Client(autostart=False) as client:
            status = client.status().raw
    except DaemonUnavailable as exc:
        if args.json:
            print(json.dumps({"running": False}))
        else:
            print(f"credd is not running: {exc.message}")
        return exc.exit_code
    except DaemonTimeout as exc:  # running, since it took the connection, but no answer
        if args.json:
            print(json.dumps({"running": True, "answered": False, "error": exc.message}))
        else:
            print(f"credd is running but did not answer: {exc.message}")
        return exc.exit_code
    if status.get("version") != __version__:
        print(
            f"credd: warning: the daemon runs credd {status.get('version')}, this command is "
            f"{__version__}; restart the daemon to match",
            file=sys.stderr,
        )
    # This machine's agent socket: beside a daemon of its own, not through a view (the
    # daemon is elsewhere, and a view's status names no path).
    agent = None if status.get("view") else agent_state(os.environ)
    if args.json:
        shown = {"running": True, **status}
        if agent is not None:
            shown["ssh_agent"] = agent
        print(json.dumps(shown, indent=2))
    else:
        print(format_status(status))
        if agent is not None:
            print("\n".join(format_agent(agent)))
    return 0


def agent_state(env: Mapping[str, str]) -> dict[str, Any]:
    """The SSH agent as this shell sees it: its socket, whether SSH_AUTH_SOCK points there,
    and whether the login units (an install made before the agent) lack its socket."""
    path = agent_socket_path(env)
    auth = env.get("SSH_AUTH_SOCK") or None
    if sys.platform == "win32":
        # A pipe: it exists while served, and is named, not resolved (resolving opens it).
        path = configured_agent_pipe(env) or path
        return {
            "socket": path,
            "listening": os.path.exists(path),
            "ssh_auth_sock": auth,
            "other_agent": auth is not None and auth.lower() != path.lower(),
            "units_outdated": False,
        }
    config = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    units = os.path.join(config, "systemd", "user")
    return {
        "socket": path,
        "listening": stat.S_ISSOCK(os.stat(path).st_mode) if os.path.exists(path) else False,
        "ssh_auth_sock": auth,
        "other_agent": auth is not None and os.path.realpath(auth) != os.path.realpath(path),
        "units_outdated": os.path.exists(os.path.join(units, "credd.socket"))
        and not os.path.exists(os.path.join(units, "credd-ssh-agent.socket")),
    }


def configured_agent_pipe(env: Mapping[str, str]) -> str | None:
    """Windows: the agent pipe config.toml names (`ssh_agent_pipe`), as the daemon reads it;
    None for the default, or a config.toml that cannot be read (the daemon says why)."""
    from .._autostart import config_document

    try:
        configured = config_document(env).get("ssh_agent_pipe")
    except CreddError:
        return None
    return configured if isinstance(configured, str) and configured else None


def format_agent(agent: Mapping[str, Any]) -> list[str]:
    listening = "" if agent["listening"] else " (not listening)"
    lines = [f"ssh agent:   {agent['socket']}{listening}"]
    if agent["other_agent"]:
        fix = (
            "`credd ssh-agent | Invoke-Expression`"
            if sys.platform == "win32"
            else '`eval "$(credd ssh-agent)"`'
        )
        lines.append(
            "             WARNING: SSH_AUTH_SOCK points at another agent "
            f"({agent['ssh_auth_sock']}); {fix} points it at credd's"
        )
    if agent["units_outdated"]:
        lines.append(
            "             the login units start no SSH agent socket: run `credd service install` "
            "again"
        )
    return lines


def format_status(status: dict[str, Any]) -> str:
    """The status in lines; through a view, without what a view is not told (store, key)."""
    key = status["key_backend"]
    store = status["store"]
    counts = status["credentials"]
    lines = [
        f"credd {status['version']}: running, pid {status['pid']}, "
        f"up {_duration(status['uptime_seconds'])} (since {status['started_at']})",
    ]
    if status["socket"] is not None:
        lines.append(f"socket:      {status['socket']}")
    if key is not None:
        lines.extend(_key_lines(key, status.get("lock_reason")))
    lines.append(f"state:       {_lock_state(status)}")
    if store is not None:
        size = "" if store["size"] is None else f", {store['size']} bytes"
        lines.append(f"store:       {store['path']} ({store['state']}{size})")
        if store.get("error"):
            lines.append(f"             {store['error']}")
    if counts["total"] is None:
        lines.append("credentials: unknown while locked")
    else:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts["by_kind"].items()))
        lines.append(f"credentials: {counts['total']}" + (f" ({kinds})" if kinds else ""))
        if counts["by_status"]:
            statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts["by_status"].items()))
            lines.append(f"oauth:       {statuses}")
    lines.extend(_programs_lines(status.get("programs")))
    oauth = status["oauth"]
    if oauth.get("next_refresh_at"):
        lines.append(f"next refresh: {oauth['next_refresh_at']}")
    each = oauth.get("credentials")
    if each is None:  # a daemon from before per-credential states: its failures only
        each = oauth.get("failures", [])
    for item in each:
        lines.append(f"  {item['name']}: {_oauth_state(item)}")
    lines.extend(_aws_lines(status))
    lines.extend(_views_lines(status))
    lines.extend(_watchers_lines(status.get("watchers")))
    return "\n".join(lines)


def _lock_state(status: dict[str, Any]) -> str:
    lock = "locked" if status["locked"] else "unlocked"
    if status["locked"] and status.get("lock_reason"):
        lock += f" ({status['lock_reason']})"
    elif status.get("locks_at"):
        lock += (
            f"; locks at {status['locks_at']} after {_duration(status['lock_after'])} "
            "without requests"
        )
    elif status.get("lock_after") is None and not status.get("view"):
        lock += "; no idle lock (lock_after unset)"
    return lock


def _key_lines(key: dict[str, Any], lock_reason: str | None) -> list[str]:
    lines = [f"key:         {key['detail']}"]
    if key["insecure"]:
        lines.append(f"             WARNING: insecure key storage. Reason: {key['reason']}")
    elif key.get("reason") and key["reason"] != lock_reason:
        # The keyring answers but cannot be used: its failure, with the ways out.
        lines.append(f"             PROBLEM: {key['reason']}")
    return lines


def _watchers_lines(watchers: list[dict[str, Any]] | None) -> list[str]:
    """The open event streams, then which `exec`/`render` process holds each credential."""
    if not watchers:
        return []
    lines = [f"watchers:    {len(watchers)}"]
    for watcher in watchers:
        what = watcher["holder"] or "watch"
        names = "every credential" if watcher["names"] is None else ", ".join(watcher["names"])
        via = f" through the view {watcher['view']}" if watcher["view"] else ""
        lines.append(f"  {what} (pid {watcher['pid']}){via} since {watcher['since']}: {names}")
    held: dict[str, list[str]] = {}
    for watcher in watchers:
        if watcher["holder"] in ("exec", "render"):
            for name in watcher["names"] or ():
                held.setdefault(name, []).append(f"{watcher['holder']} pid {watcher['pid']}")
    if held:
        lines.append("held by:")
        lines.extend(f"  {name}: {', '.join(who)}" for name, who in sorted(held.items()))
    return lines


def _aws_lines(status: dict[str, Any]) -> list[str]:
    """The STS sessions of aws credentials: expiry, next renewal, last error."""
    sessions = (status.get("aws") or {}).get("credentials") or []
    if not sessions:
        return []
    lines = [f"aws:         {len(sessions)} STS session(s)"]
    return lines + [f"  {item['name']}: {_oauth_state(item)}" for item in sessions]


def _programs_lines(programs: dict[str, Any] | None) -> list[str]:
    if programs is None:  # a daemon older than this command does not say
        return []
    if programs["identifiable"]:
        return ["programs:    identified (per-program access and the audit's names work)"]
    return [
        "programs:    CANNOT BE IDENTIFIED: --allow-program credentials are refused to every",
        "             program, and the audit log names none.",
        f"             Reason: {programs['reason']}",
    ]


def _views_lines(status: dict[str, Any]) -> list[str]:
    """Through a view, the view; on the main socket, every view the daemon serves."""
    if status.get("view"):
        return [f"view:        {_view_line(status['view'])}"]
    views = status.get("views") or []
    if not views:
        return []
    return [f"views:       {len(views)}", *(f"  {_view_line(view)}" for view in views)]


def _view_line(view: dict[str, Any]) -> str:
    access = "read-write" if view["write"] else "read-only"
    expiry = f"expires {view['expires_at']}" if view["expires_at"] else "no expiry"
    last = view["last_used_at"] or "never"
    return (
        f"{view['name']}: {' '.join(view['patterns'])} ({access}, {expiry}, "
        f"{view['requests']} requests, last used {last}) on {view['socket']}"
    )


def _oauth_state(item: dict[str, Any]) -> str:
    text = str(item["status"])
    if item.get("expires_at"):
        text += f", expires {item['expires_at']}"
    if item.get("next_refresh_at"):
        text += f", next refresh {item['next_refresh_at']}"
    elif item["status"] == "needs_login":
        text += ", run `credd login` again"
    if item.get("last_error"):
        text += f" ({item['last_error']})"
    return text


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{days}d"] if days else []
    if days or hours:
        parts.append(f"{hours}h")
    if days or hours or minutes:
        parts.append(f"{minutes}m")
    parts.append(f"{seconds}s")
    return " ".join(parts)


def run_lock(_: argparse.Namespace) -> int:
    with Client(autostart=False) as client:
        client.lock()
    print("credd is locked: the key and every secret are out of its memory")
    return 0


def run_unlock(_: argparse.Namespace) -> int:
    from .passphrase import unlock_with_passphrase

    with Client() as client:
        status = client.status()
        if status.locked and status.key_backend.get("name") == "passphrase":
            message = unlock_with_passphrase(client, status.raw)
        else:
            client.unlock()
            message = "credd is unlocked"
    print(message)
    return 0
