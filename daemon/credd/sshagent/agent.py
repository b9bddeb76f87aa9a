"""The agent's answers: one dispatch table from message type to handler, over the service.

Every handler answers SSH_AGENT_FAILURE for anything it does not understand or will not do,
and the connection goes on (OpenSSH's ssh-agent does the same). The private keys stay in
the vault's state; the keys loaded for signing are kept in `_loaded` until the next lock.

Through a view's agent socket (`views/NAME.agent.sock`) only the keys whose names match are
listed and used, and keys are never added, removed, locked or unlocked.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from credd_client.errors import CreddError

from ..access import check_reader
from ..audit import AuditLog
from ..operations import CredentialService
from ..store.records import Credential, utc_now
from ..system.peer import Peer
from . import hostkeys, wire
from .changes import AddKeys, NewKey, SetOffered, ssh_keys
from .keys import BadKey, HeldKey, SignatureRefused, fingerprint_of, from_stored, from_wire

log = logging.getLogger(__name__)

FAILURE = bytes([wire.FAILURE])
SUCCESS = bytes([wire.SUCCESS])
SESSION_BIND = "session-bind@openssh.com"


@dataclass
class Session:
    """One connection: who is calling, through which view, bound to which hosts."""

    peer: Peer
    view: str | None = None
    matches: Callable[[str], bool] | None = None
    # session-bind@openssh.com: the fingerprints of the host keys this connection is for.
    host_keys: list[str] = field(default_factory=list)

    def may_use(self, name: str) -> bool:
        return self.matches is None or self.matches(name)


Handler = Callable[["Agent", wire.Reader, Session], Awaitable[bytes]]


class Agent:
    def __init__(self, service: CredentialService, audit: AuditLog | None) -> None:
        self.service = service
        self.audit = audit
        self._loaded: dict[str, HeldKey] = {}  # by fingerprint, until the next lock
        service.on_lock.append(self._loaded.clear)

    async def answer(self, message: bytes, session: Session) -> bytes:
        """The reply to one message (without its length prefix)."""
        if not message:
            return FAILURE
        handler = HANDLERS.get(message[0])
        if handler is None:
            return FAILURE
        try:
            return await handler(self, wire.Reader(message[1:]), session)
        except (wire.MessageError, BadKey, SignatureRefused, CreddError) as exc:
            log.info("ssh agent: message %d refused: %s", message[0], _reason(exc))
            return FAILURE

    # --- what is offered ---------------------------------------------------------------------

    def offered(self, session: Session) -> list[Credential]:
        """The keys listed now: none while locked (listing never unlocks)."""
        vault = self.service.vault
        if vault.locked:
            return []
        now = utc_now()
        return [
            c
            for c in ssh_keys(vault.state())
            if c.ssh is not None
            and c.ssh.offered
            and (c.ssh.offered_until is None or now < c.ssh.offered_until)
            and session.may_use(c.name)
            # A key restricted to programs is never served through a view: the program on
            # the far side of a forward cannot be known.
            and (session.matches is None or not c.allowed_programs)
        ]

    def _record(
        self, op: str, name: str | None, outcome: str, session: Session, **detail: str | None
    ) -> None:
        if self.audit is not None:
            self.audit.record(
                op, name, outcome, None, session.peer, view=session.view, detail=detail
            )

    # --- handlers ------------------------------------------------------------------------------

    async def identities(self, reader: wire.Reader, session: Session) -> bytes:
        reader.end()
        keys = self.offered(session)
        body = b"".join(
            wire.string(_blob(c)) + wire.string(c.ssh.comment if c.ssh else "") for c in keys
        )
        return bytes([wire.IDENTITIES_ANSWER]) + wire.u32(len(keys)) + body

    async def sign(self, reader: wire.Reader, session: Session) -> bytes:
        blob, data, flags = reader.string(), reader.string(), reader.u32()
        reader.end()
        fingerprint = fingerprint_of(blob)
        host_key = session.host_keys[-1] if session.host_keys else None
        credential = next((c for c in self.offered(session) if _blob(c) == blob), None)
        if credential is None:
            outcome = "locked" if self.service.vault.locked else "not_found"
            self._record(
                "ssh-sign", None, outcome, session, fingerprint=fingerprint, host_key=host_key
            )
            return FAILURE
        try:
            check_reader(credential, session.peer)
        except CreddError:
            self._record(
                "ssh-sign",
                credential.name,
                "forbidden",
                session,
                fingerprint=fingerprint,
                host_key=host_key,
            )
            return FAILURE
        key = self._load(credential)
        signature = key.sign(data, flags, allow_sha1=self.service.config.ssh_allow_sha1)
        self._record(
            "ssh-sign", credential.name, "ok", session, fingerprint=fingerprint, host_key=host_key
        )
        return bytes([wire.SIGN_RESPONSE]) + wire.string(signature)

    def _load(self, credential: Credential) -> HeldKey:
        assert credential.ssh is not None
        key = self._loaded.get(credential.ssh.fingerprint)
        if key is None:
            key = from_stored(credential.ssh.private_key, credential.ssh.comment)
            self._loaded[credential.ssh.fingerprint] = key
        return key

    async def add(self, reader: wire.Reader, session: Session) -> bytes:
        return await self._add(reader, session, constrained=False)

    async def add_constrained(self, reader: wire.Reader, session: Session) -> bytes:
        return await self._add(reader, session, constrained=True)

    async def _add(self, reader: wire.Reader, session: Session, *, constrained: bool) -> bytes:
        if session.matches is not None:
            return FAILURE  # a view never adds keys
        key = from_wire(reader)
        lifetime = None
        while constrained and reader.remaining:
            constraint = reader.byte()
            if constraint != wire.CONSTRAIN_LIFETIME:
                # Confirmation, destination restrictions and the rest: refused, nothing stored.
                self._record(
                    "ssh-add", None, "refused_constraint", session, fingerprint=key.fingerprint
                )
                return FAILURE
            lifetime = reader.u32()
        reader.end()
        until = None if lifetime is None else utc_now() + timedelta(seconds=lifetime)
        change = AddKeys([NewKey(stem=key.comment, key=key, offered_until=until)])
        await self.service.change(change)
        name, action, _ = change.results[0]
        self._record("ssh-add", name, action, session, fingerprint=key.fingerprint)
        return SUCCESS

    async def remove(self, reader: wire.Reader, session: Session) -> bytes:
        blob = reader.string()
        reader.end()
        if session.matches is not None:
            return FAILURE
        fingerprint = fingerprint_of(blob)
        if not any(c.ssh and c.ssh.fingerprint == fingerprint for c in self.offered(session)):
            return FAILURE
        await self.service.change(SetOffered(False, frozenset({fingerprint})))
        self._record("ssh-remove", None, "ok", session, fingerprint=fingerprint)
        return SUCCESS

    async def remove_all(self, reader: wire.Reader, session: Session) -> bytes:
        reader.end()
        if session.matches is not None:
            return FAILURE
        if self.service.vault.locked:
            return FAILURE
        await self.service.change(SetOffered(False))
        self._record("ssh-remove", None, "ok", session)
        return SUCCESS

    async def lock(self, reader: wire.Reader, session: Session) -> bytes:
        reader.string()  # ssh-add -x asks a password; credd's lock needs none
        reader.end()
        if session.matches is not None:
            return FAILURE
        await self.service.lock()
        self._record("lock", None, "ok", session)
        return SUCCESS

    async def unlock(self, reader: wire.Reader, session: Session) -> bytes:
        password = reader.text()
        reader.end()
        if session.matches is not None:
            return FAILURE
        # The passphrase of a passphrase store; keyring and key-file stores need none.
        vault = self.service.vault
        interactive = vault.key_source().interactive
        if interactive and vault.file.version() is None:
            return FAILURE  # a new store's passphrase is chosen (typed twice) by `credd unlock`
        await self.service.unlock(password if interactive else None)
        self._record("unlock", None, "ok", session)
        return SUCCESS

    async def extension(self, reader: wire.Reader, session: Session) -> bytes:
        if reader.text() != SESSION_BIND:
            return FAILURE
        host_key, session_id, signature = reader.string(), reader.string(), reader.string()
        reader.byte()  # whether the connection is forwarding the agent
        reader.end()
        if not hostkeys.verify(host_key, signature, session_id):
            return FAILURE
        session.host_keys.append(fingerprint_of(host_key))
        return SUCCESS


HANDLERS: dict[int, Handler] = {
    wire.REQUEST_IDENTITIES: Agent.identities,
    wire.SIGN_REQUEST: Agent.sign,
    wire.ADD_IDENTITY: Agent.add,
    wire.ADD_ID_CONSTRAINED: Agent.add_constrained,
    wire.REMOVE_IDENTITY: Agent.remove,
    wire.REMOVE_ALL_IDENTITIES: Agent.remove_all,
    wire.LOCK: Agent.lock,
    wire.UNLOCK: Agent.unlock,
    wire.EXTENSION: Agent.extension,
}


def _blob(credential: Credential) -> bytes:
    assert credential.ssh is not None
    return base64.b64decode(credential.ssh.public_key.split()[1])


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, CreddError) else str(exc)
