"""The agent's sans-I/O parts: the wire codec and the keys (no socket, no daemon)."""

from __future__ import annotations

import base64
import contextlib
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import given
from hypothesis import strategies as st

from credd.sshagent import wire
from credd.sshagent.changes import AddKeys, NewKey, OrderKeys, SetOffered, name_for, ssh_keys
from credd.sshagent.keys import (
    BadKey,
    HeldKey,
    PassphraseNeeded,
    SignatureRefused,
    from_stored,
    from_wire,
    generate,
    load_file,
)
from credd.store.records import StoreState
from tests.support.requirements import require_program


def wire_form(key: HeldKey) -> bytes:
    """The ADD_IDENTITY body of ``key``, written here the way ssh-add writes it."""
    private = key.private
    if isinstance(private, ed25519.Ed25519PrivateKey):
        public = private.public_key().public_bytes_raw()
        body = wire.string(public) + wire.string(private.private_bytes_raw() + public)
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        curve = key.key_type.removeprefix("ecdsa-sha2-")
        point = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        body = (
            wire.string(curve)
            + wire.string(point)
            + wire.mpint(private.private_numbers().private_value)
        )
    else:
        assert isinstance(private, rsa.RSAPrivateKey)
        n = private.private_numbers()
        body = b"".join(
            wire.mpint(v) for v in (n.public_numbers.n, n.public_numbers.e, n.d, n.iqmp, n.p, n.q)
        )
    return wire.string(key.key_type) + body + wire.string(key.comment)


KEYS = {
    "ed25519": generate("ed25519", "e"),
    "p256": generate("ecdsa", "p"),
    "p384": HeldKey(ec.generate_private_key(ec.SECP384R1()), "q"),
    "p521": HeldKey(ec.generate_private_key(ec.SECP521R1()), "r"),
    "rsa": HeldKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), "s"),
}


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_a_key_round_trips_through_the_wire_and_the_store(key: HeldKey) -> None:
    added = from_wire(wire.Reader(wire_form(key)))
    assert added.fingerprint == key.fingerprint
    assert added.comment == key.comment
    stored = from_stored(key.private_text(), key.comment)
    assert stored.public_line == key.public_line


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_signatures_verify_with_the_public_key(key: HeldKey) -> None:
    flags = wire.RSA_SHA2_512 if key.key_type == "ssh-rsa" else 0
    reader = wire.Reader(key.sign(b"data", flags))
    algorithm, signature = reader.text(), reader.string()
    public = key.private.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        public.verify(signature, b"data")
    elif isinstance(public, rsa.RSAPublicKey):
        assert algorithm == "rsa-sha2-512"
        public.verify(signature, b"data", padding.PKCS1v15(), hashes.SHA512())
    else:
        assert algorithm == key.key_type


def test_sha1_rsa_is_refused_unless_allowed() -> None:
    with pytest.raises(SignatureRefused):
        KEYS["rsa"].sign(b"data", 0)
    assert wire.Reader(KEYS["rsa"].sign(b"data", 0, allow_sha1=True)).text() == "ssh-rsa"


@given(st.binary(max_size=300))
def test_any_bytes_as_a_key_give_a_parse_error(data: bytes) -> None:
    with contextlib.suppress(wire.MessageError, BadKey):
        from_wire(wire.Reader(data))


def test_a_length_past_the_limit_is_refused() -> None:
    with pytest.raises(wire.MessageError):
        wire.message_length(b"\xff\xff\xff\xff")
    assert wire.message_length(wire.frame(b"x" * 10)[:4]) == 10


def test_an_encrypted_openssh_file_takes_its_passphrase(tmp_path: Path) -> None:
    require_program("ssh-keygen")
    path = tmp_path / "id"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass phrase", "-C", "me@x", "-f", str(path)],
        check=True,
    )
    with pytest.raises(PassphraseNeeded):
        load_file(path.read_bytes())
    with pytest.raises(BadKey, match="wrong passphrase"):
        load_file(path.read_bytes(), b"wrong")
    key = load_file(path.read_bytes(), b"pass phrase")
    expected = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(path) + ".pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert key.fingerprint == expected
    assert key.public_line.split()[:2] == (tmp_path / "id.pub").read_text().split()[:2]


def test_the_comment_of_a_plain_openssh_file_is_kept() -> None:
    key = KEYS["ed25519"]
    assert load_file(key.private_text().encode()).comment == ""
    made = generate("ed25519", "")
    text = made.private_text().encode()
    assert base64.b64decode(b"".join(text.splitlines()[1:-1])).startswith(b"openssh-key-v1\x00")


# --- the store changes --------------------------------------------------------------------------


def test_names_are_file_stems_and_a_taken_name_gets_the_fingerprint() -> None:
    a, b = generate("ed25519", "/home/me/.ssh/id_work"), generate("ed25519", "id_work")
    change = AddKeys([NewKey(a.comment, a), NewKey(b.comment, b), NewKey("again", a)])
    state = change.apply(StoreState())
    names = [r[0] for r in change.results]
    assert names[0] == "ssh:id_work"
    assert names[1] == f"ssh:id_work-{b.fingerprint[7:15]}"
    assert change.results[2] == ("ssh:id_work", "unchanged", a.fingerprint)
    assert [c.name for c in ssh_keys(state)] == names[:2]
    assert name_for("", a.fingerprint) == f"ssh:{a.fingerprint[7:15]}"


def test_offering_and_order() -> None:
    keys = [generate("ed25519", f"k{i}") for i in range(3)]
    state = AddKeys([NewKey(k.comment, k) for k in keys]).apply(StoreState())
    state = OrderKeys(["ssh:k2", "ssh:k0"]).apply(state)
    assert [c.name for c in ssh_keys(state)] == ["ssh:k2", "ssh:k0", "ssh:k1"]
    state = SetOffered(False).apply(state)
    assert not any(c.ssh and c.ssh.offered for c in state.credentials.values())
    state = SetOffered(True, names=frozenset({"ssh:k1"})).apply(state)
    assert [c.name for c in ssh_keys(state) if c.ssh and c.ssh.offered] == ["ssh:k1"]
