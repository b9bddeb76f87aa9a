"""The encoded forms kept with a store's state: reused while a credential is unchanged, and a
few forms only (a list's field sets are the caller's to choose)."""

from __future__ import annotations

from credd.store.encoded import MAX_FORMS, EncodedForms
from credd.store.records import Credential


def test_a_form_is_reused_until_its_credential_changes_and_few_forms_are_kept() -> None:
    forms = EncodedForms()
    encoded: list[str] = []

    def encode(credential: Credential) -> bytes:
        encoded.append(credential.name)
        return credential.name.encode()

    first, second = Credential("a", "secret", "s"), Credential("b", "secret", "s")
    assert forms.encode_all("f0", [first, second], encode) == [b"a", b"b"]
    assert forms.encode_all("f0", [first, second], encode) == [b"a", b"b"]
    assert encoded == ["a", "b"]  # the second call reused both
    for index in range(1, MAX_FORMS + 1):  # one form more than are kept
        forms.encode_all(f"f{index}", [first], encode)
    encoded.clear()
    forms.encode_all("f0", [first], encode)  # the least recently used was dropped
    forms.encode_all(f"f{MAX_FORMS}", [first], encode)  # the most recent was kept
    assert encoded == ["a"]
