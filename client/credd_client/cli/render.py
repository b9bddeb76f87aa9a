"""`credd render`: write a file from a template whose ``{{ credd:NAME }}`` are references.

    credd render ~/.npmrc.tmpl -o ~/.npmrc
    credd render app.conf.tmpl -o ~/.config/app/app.conf --watch \\
        --exec-on-change "systemctl --user reload app"

The template is read whole and every value fetched before anything is written: a bad
reference or a missing credential is an error naming the template's line and column, and
no file is written and no command run. The output is replaced atomically, 0600 (standard
output without ``-o``). With ``--watch``, credd stays, holding one events connection, and
renders again whenever a credential the template names changes. ``--exec-on-change CMD``
runs CMD (split like a shell would, without a shell) after each render that changed the
file.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from typing import Any

from credd_client import Client
from credd_client.errors import CreddError, InvalidRequest

from . import template
from .atomicfile import NEW_FILE_MODE, replace_file
from .notices import warn
from .references import Values, read_text
from .watching import Keeper


def register(commands: Any) -> None:
    render = commands.add_parser(
        "render",
        help="write a file from a template of {{ credd:NAME }} references",
        description="Renders TEMPLATE, where {{ credd:NAME }} (or {{ credd:NAME#username }}) "
        "stands for a credential's value and {{{{ for a literal {{, to FILE (0600, replaced "
        "atomically) or standard output.",
        usage="credd render TEMPLATE [-o FILE] [--watch] [--exec-on-change CMD]",
    )
    render.add_argument("template", metavar="TEMPLATE", help="the template file")
    render.add_argument("-o", "--output", metavar="FILE", help="the file to write")
    render.add_argument(
        "--watch",
        action="store_true",
        help="stay, and render again whenever one of the credentials changes (needs -o)",
    )
    render.add_argument(
        "--exec-on-change",
        metavar="CMD",
        help="run CMD after each render that changed FILE (e.g. to reload a server)",
    )
    render.set_defaults(run=run_render)


def run_render(args: argparse.Namespace) -> int:
    if args.watch and args.output is None:
        raise InvalidRequest("--watch needs -o FILE: a file to keep current")
    command = _command(args.exec_on_change)
    parts = _read_template(args.template)
    output = None if args.output is None else _output(args.output)
    with Client() as client:
        values = Values(client)
        for slot in template.slots(parts):
            values.load(slot.reference, _place(args.template, slot))
        status = _render(parts, values, output, command)
        names = {slot.reference.name for slot in template.slots(parts)}
        if not args.watch or not names:  # no reference: nothing will ever change it
            return status

        def reread(names: set[str]) -> None:
            if values.reload(names):
                try:
                    _render(parts, values, output, command)
                except CreddError as exc:  # a full disk, say: the next change tries again
                    warn(exc.message)

        Keeper(names, "render", reread, values.versions()).run()
    return 0


def _command(text: str | None) -> list[str] | None:
    if text is None:
        return None
    try:
        command = shlex.split(text)
    except ValueError as exc:
        raise InvalidRequest(f"--exec-on-change: {exc}") from None
    if not command:
        raise InvalidRequest("--exec-on-change takes a command")
    return command


def _read_template(path: str) -> list[template.Part]:
    text = read_text(path, "the template")
    try:
        return template.parse(text)
    except template.TemplateError as exc:
        raise InvalidRequest(f"{path}, {exc}") from None


def _output(path: str) -> str:
    """The file to write, symlinks resolved (the link stays, its target is replaced)."""
    resolved = os.path.realpath(os.path.expanduser(path))
    folder = os.path.dirname(resolved)
    if not os.path.isdir(folder):
        raise InvalidRequest(f"cannot write {path}: there is no folder {folder}")
    return resolved


def _place(template_path: str, slot: template.Slot) -> str:
    return f"{template_path}, line {slot.line}, column {slot.column}"


def _render(
    parts: list[template.Part], values: Values, output: str | None, command: list[str] | None
) -> int:
    """Write the rendering if it differs from the file, then run the command: 0, or 1 when
    the command failed."""
    missing = [slot for slot in template.slots(parts) if values.current(slot.reference) is None]
    if missing:
        names = ", ".join(sorted({repr(slot.reference.name) for slot in missing}))
        warn(f"{names} lost a field the template uses; the output stays as it was")
        return 1
    text = template.render(parts, lambda slot: values.current(slot.reference) or "")
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    elif _holds(output, text):
        return 0
    else:
        try:
            replace_file(output, text.encode(), NEW_FILE_MODE)
        except OSError as exc:
            raise CreddError(f"cannot write {output}: {exc.strerror or exc}") from None
    return 0 if command is None else _run(command)


def _holds(path: str, text: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read() == text.encode()
    except OSError:
        return False


def _run(command: list[str]) -> int:
    try:
        returncode = subprocess.run(command, check=False).returncode
    except OSError as exc:
        warn(f"--exec-on-change: cannot run {command[0]}: {exc.strerror or exc}")
        return 1
    if returncode != 0:
        warn(f"--exec-on-change: {command[0]} exited with {returncode}")
        return 1
    return 0
