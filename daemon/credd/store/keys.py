"""Where the store key lives: the OS keyring, or (insecure fallback) a key file.

Only secure keyring backends are ever used, instantiated by class so that neither a
user's default backend nor credd's own keyring backend can stand in. Every keyring call
runs in a thread with a time limit, so a hung D-Bus peer gives an error, not a hung daemon.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import os
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from credd_client.errors import InvalidRequest, Locked

from .core import KEY_SIZE, new_key
from .files import FILE_MODE, ensure_private_folder

if TYPE_CHECKING:
    from .passphrase import PassphraseKeySource

KEYRING_SERVICE = "credd"
KEYRING_TIMEOUT = 10.0

# Module and class of the secure backends of each platform, in the order they are tried.
SECURE_BACKENDS: dict[str, tuple[tuple[str, str], ...]] = {
    "darwin": (("keyring.backends.macOS", "Keyring"),),
    "win32": (("keyring.backends.Windows", "WinVaultKeyring"),),
    "linux": (
        ("keyring.backends.SecretService", "Keyring"),
        ("keyring.backends.kwallet", "DBusKeyring"),
    ),
}

T = TypeVar("T")


class KeyringTimeout(Exception):
    """The call did not answer in time; ``done`` is set if it ever returns."""

    def __init__(self, message: str, done: threading.Event) -> None:
        super().__init__(message)
        self.done = done


def call_bounded(function: Callable[[], T], timeout: float, what: str) -> T:
    """Run a call that may block forever (D-Bus, a prompt) in a thread, with a time limit."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"bounded: {what}", daemon=True).start()
    if not done.wait(timeout):
        raise KeyringTimeout(f"{what} did not answer within {timeout:g} s", done)
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


@dataclass(frozen=True)
class KeyringProbe:
    """The secure keyring found, or why none was: `backend` is None when none is usable."""

    backend: Any
    tried: tuple[str, ...]

    @property
    def description(self) -> str:
        return "; ".join(self.tried)


def probe_secure_keyring(timeout: float = KEYRING_TIMEOUT) -> KeyringProbe:
    tried: list[str] = []
    candidates = SECURE_BACKENDS.get(sys.platform, SECURE_BACKENDS["linux"])
    for module_name, class_name in candidates:
        label = f"{module_name}.{class_name}"
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
            call_bounded(partial(getattr, cls, "priority"), timeout, label)
        except Exception as exc:  # every backend fails in its own way; each is a reason
            tried.append(f"{label}: {_reason(exc)}")
            continue
        tried.append(f"{label}: available")
        return KeyringProbe(backend=cls(), tried=tuple(tried))
    return KeyringProbe(backend=None, tried=tuple(tried))


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else "failed"
    if isinstance(exc, OSError):  # e.g. no D-Bus socket: say which kind of failure
        text = f"{type(exc).__name__}: {text}"
    return text


class KeySource(ABC):
    """One place a store key can live. `params` go into the store header, in clear."""

    name: str
    insecure = False
    reason: str | None = None
    # True when the key needs the user's input (a passphrase): no unlock on demand.
    interactive = False

    @abstractmethod
    def describe(self) -> str: ...

    @abstractmethod
    def create(self) -> tuple[bytes, dict[str, Any]]:
        """Make and keep a new key, for a new store only; returns it and its header params."""

    @abstractmethod
    def load(self, params: Mapping[str, Any]) -> bytes:
        """The key that sealed a store with these header params; Locked when it cannot be had."""

    @abstractmethod
    def discard(self, params: Mapping[str, Any]) -> None:
        """Remove the key kept for these params, once no store needs it (`credd rekey`)."""


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_SIZE:
        raise Locked(f"the store key in {where} is malformed; credd will not replace it")
    return key


def ways_out(config_file: Path | None, new_store: bool) -> str:
    """What a user can do about a keyring that answers but cannot be used (locked, a prompt
    nobody can answer): said in the error and, through `reason`, in `credd status`."""
    config = str(config_file) if config_file is not None else "config.toml"
    unlock = (
        "unlock the keyring (a desktop login unlocks the login keyring; over SSH or in a "
        "service, unlock its login collection in this session)"
    )
    if new_store:
        return (
            f"Ways out: {unlock}, then try again; or keep the store key elsewhere: set "
            f'key_backend = "passphrase" (`credd unlock` asks for it) or key_backend = '
            f'"keyfile" (a file beside the store, insecure) in {config} and restart credd'
        )
    return (
        f"Ways out: {unlock}, then run `credd unlock`. This store's key is in the keyring, so "
        f'key_backend = "passphrase" or "keyfile" in {config} applies only to a new store; '
        "once the store opens, `credd rekey --to passphrase` (or keyfile) moves it"
    )


class KeyringKeySource(KeySource):
    name = "keyring"

    def __init__(
        self,
        backend: Any,
        account: str,
        timeout: float = KEYRING_TIMEOUT,
        *,
        config_file: Path | None = None,
    ) -> None:
        self.backend = backend
        self.account = account
        self.timeout = timeout
        self.config_file = config_file
        # The last call's failure with the ways out (`credd status` shows it); None once a
        # call succeeds.
        self.reason: str | None = None
        # Set while a call that timed out still hangs: no new call (and thread) is started
        # until it returns, so a keyring stuck for hours does not pile up threads.
        self._hung: threading.Event | None = None

    def describe(self) -> str:
        return f"{type(self.backend).__module__}.{type(self.backend).__name__}"

    def _call(self, what: str, function: Callable[[], T], *, new_store: bool = False) -> T:
        hung = self._hung
        if hung is not None and not hung.is_set():
            raise self._failed(
                f"the keyring ({self.describe()}) has not answered an earlier call yet; "
                f"cannot {what}; is it waiting on a prompt?",
                new_store,
            )
        try:
            value = call_bounded(function, self.timeout, f"the keyring ({self.describe()})")
        except KeyringTimeout as exc:
            self._hung = exc.done
            raise self._failed(
                f"{exc} while trying to {what}; is it waiting on a prompt?", new_store
            ) from None
        except Exception as exc:
            # It answered, but with an error: locked, no collection, a prompt dismissed.
            raise self._failed(f"the keyring failed to {what}: {_reason(exc)}", new_store) from None
        self.reason = None
        return value

    def _failed(self, message: str, new_store: bool) -> Locked:
        self.reason = f"{message.rstrip('.')}. {ways_out(self.config_file, new_store)}"
        return Locked(self.reason)

    def create(self) -> tuple[bytes, dict[str, Any]]:
        params = {"service": KEYRING_SERVICE, "account": self.account}
        # A key left by a store that went missing is kept, never overwritten: a copy of
        # that store may still turn up.
        existing = self._call(
            "look for an existing key",
            lambda: self.backend.get_password(KEYRING_SERVICE, self.account),
            new_store=True,
        )
        if existing is not None:
            return _decode_key(existing, self.describe()), params
        key = new_key()
        encoded = base64.b64encode(key).decode()
        self._call(
            "store a new key",
            lambda: self.backend.set_password(KEYRING_SERVICE, self.account, encoded),
            new_store=True,
        )
        return key, params

    def load(self, params: Mapping[str, Any]) -> bytes:
        service = str(params.get("service", KEYRING_SERVICE))
        account = str(params.get("account", self.account))
        text = self._call("read the store key", lambda: self.backend.get_password(service, account))
        if text is None:
            raise Locked(
                f"the store key (service {service!r}, account {account!r}) is missing from "
                f"{self.describe()}; credd never makes a new key over an existing store: "
                "bring the key back, or `credd restore` a backup after `credd reset`"
            )
        return _decode_key(text, self.describe())

    def discard(self, params: Mapping[str, Any]) -> None:
        service = str(params.get("service", KEYRING_SERVICE))
        account = str(params.get("account", self.account))
        self._call(
            "remove the old store key", lambda: self.backend.delete_password(service, account)
        )


class KeyFileKeySource(KeySource):
    """The insecure fallback: the key in a 0600 file beside the store."""

    name = "keyfile"
    insecure = True

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason

    def describe(self) -> str:
        return f"key file {self.path} (INSECURE: anyone who can read your files can decrypt)"

    def create(self) -> tuple[bytes, dict[str, Any]]:
        params = {"file": self.path.name}
        if self.path.exists():  # kept from a store that went missing: never overwritten
            return self.load(params), params
        key = new_key()
        ensure_private_folder(self.path.parent)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(base64.b64encode(key).decode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return key, params

    def load(self, params: Mapping[str, Any]) -> bytes:
        path = self.path.with_name(str(params.get("file", self.path.name)))
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise Locked(
                f"the key file {path} is missing; credd never makes a new key over an "
                "existing store"
            ) from None
        except OSError as exc:
            raise Locked(f"cannot read the key file {path}: {exc.strerror}") from None
        return _decode_key(text, str(path))

    def discard(self, params: Mapping[str, Any]) -> None:
        path = self.path.with_name(str(params.get("file", self.path.name)))
        path.unlink(missing_ok=True)


class KeyPolicy:
    """Which source seals a new store, and which opens an existing one (its header says)."""

    def __init__(
        self,
        mode: str,
        keyring: KeyringKeySource | None,
        keyfile: KeyFileKeySource,
        tried: str,
        passphrase: PassphraseKeySource,
    ) -> None:
        self.mode = mode
        self.keyring = keyring
        self.keyfile = keyfile
        self.tried = tried
        self.passphrase = passphrase

    def for_new_store(self) -> KeySource:
        if self.mode == "passphrase":
            return self.passphrase
        if self.keyring is not None:
            return self.keyring
        if self.mode == "keyring":
            raise Locked(
                f"key_backend = 'keyring' and no secure keyring is reachable: {self.tried}"
            )
        return self.keyfile

    def by_name(self, name: str) -> KeySource:
        """The source `credd rekey --to NAME` moves a store to."""
        if name == "keyring":
            if self.keyring is None:
                raise InvalidRequest(f"no secure OS keyring is reachable: {self.tried}")
            return self.keyring
        if name == "keyfile":
            return self.keyfile
        if name == "passphrase":
            return self.passphrase
        raise InvalidRequest(f"unknown key source {name!r}: keyring, keyfile or passphrase")

    def for_existing(self, key_source: str) -> KeySource:
        if key_source == KeyringKeySource.name:
            if self.keyring is None:
                raise Locked(
                    "the store was sealed with a key in the OS keyring, which cannot be "
                    f"reached now ({self.tried}); credd stays locked rather than make a new key"
                )
            return self.keyring
        if key_source == KeyFileKeySource.name:
            if self.mode == "keyring":
                raise Locked(
                    "key_backend = 'keyring' but this store is sealed with the insecure key "
                    "file; move it with `credd rekey`"
                )
            return self.keyfile
        if key_source == self.passphrase.name:
            return self.passphrase
        raise Locked(f"the store was sealed by a key source this credd does not know: {key_source}")


def build_key_policy(
    mode: str,
    key_file: Path,
    keyring_account: str,
    timeout: float = KEYRING_TIMEOUT,
    *,
    config_file: Path | None = None,
) -> KeyPolicy:
    from .passphrase import PassphraseKeySource  # it builds on KeySource, defined here

    if mode == "keyfile":
        reason = "key_backend = 'keyfile' in config.toml"
        return KeyPolicy(
            mode, None, KeyFileKeySource(key_file, reason), reason, PassphraseKeySource()
        )
    probe = probe_secure_keyring(timeout)
    keyring = None
    if probe.backend is not None:
        keyring = KeyringKeySource(probe.backend, keyring_account, timeout, config_file=config_file)
    reason = f"no secure OS keyring is reachable ({probe.description})"
    return KeyPolicy(
        mode, keyring, KeyFileKeySource(key_file, reason), probe.description, PassphraseKeySource()
    )
