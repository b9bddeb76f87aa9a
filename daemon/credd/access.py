"""Per-program access: a credential may name the executables allowed to read its secret."""

from __future__ import annotations

import os

from credd_client.errors import Forbidden

from .store.records import Credential
from .system.peer import Peer, programs


def check_reader(credential: Credential, peer: Peer) -> None:
    """Forbidden unless the credential is open to every program or names the peer's."""
    if not credential.allowed_programs:
        return
    if peer.program_unknown is not None:
        # Where no program can be known (the daemon in a user namespace of its own), that is
        # the reason to give, not this peer's namespace.
        identity = programs.current()
        why = peer.program_unknown if identity.identifiable else identity.reason
        raise Forbidden(
            f"{credential.name!r} is restricted to programs, and the program asking cannot be "
            f"known: {why}"
        )
    # normcase: Windows compares paths without case (and / as \); elsewhere it changes nothing.
    allowed = {os.path.normcase(path) for path in credential.allowed_programs}
    allowed.update(os.path.normcase(os.path.realpath(path)) for path in credential.allowed_programs)
    if peer.exe is not None and os.path.normcase(peer.exe) in allowed:
        return
    who = peer.exe or "a program credd cannot identify"
    why = programs.current().reason if peer.exe is None else None
    raise Forbidden(
        f"{who} may not read {credential.name!r}: it is restricted to "
        f"{', '.join(credential.allowed_programs)}" + (f" ({why})" if why else "")
    )
