"""The JSON of each credential, made once and reused until the credential changes.

A write seals the whole store and a `list` renders every credential: with 10,000 of them
that is tens of milliseconds of formatting per request, for a store where one credential
changed. Credentials are immutable objects and a change replaces only the changed ones, so
the encoded form of every other credential is still valid: it is kept, keyed by the
credential object itself (held here, so its identity cannot be reused).

An `EncodedForms` belongs to a `StoreState` and travels to the states derived from it, so
it lives exactly as long as the plaintexts do: a lock drops both. It keeps the forms used
last, a few (a list's field sets are the caller's to choose).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .records import Credential


# The forms kept: the store's own, the full list, and a few lists of chosen fields.
MAX_FORMS = 8


class EncodedForms:
    def __init__(self) -> None:
        self._forms: dict[str, dict[int, tuple[Credential, bytes]]] = {}

    def encode_all(
        self, form: str, credentials: Iterable[Credential], encode: Callable[[Credential], bytes]
    ) -> list[bytes]:
        """`encode(c)` for every credential, in order; reused for the credentials seen before.

        Only the credentials of this call are kept afterwards, so nothing removed lingers.
        """
        previous = self._forms.pop(form, {})
        current: dict[int, tuple[Credential, bytes]] = {}
        parts = []
        for credential in credentials:
            known = previous.get(id(credential))
            if known is None or known[0] is not credential:
                known = (credential, encode(credential))
            current[id(credential)] = known
            parts.append(known[1])
        self._forms[form] = current  # the most recently used last
        if len(self._forms) > MAX_FORMS:
            del self._forms[next(iter(self._forms))]
        return parts
