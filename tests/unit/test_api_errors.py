"""The error codes of the OpenAPI document: the one description the clients are checked against.

The ``ErrorDetail.code`` enum must name every code the daemon can send, and nothing the
daemon never sends (the client-only codes of a connection that failed).
"""

from __future__ import annotations

from credd.api import envelope
from credd_client import errors
from tests.support.api_contract import error_codes, openapi_document


def test_the_document_declares_every_code_of_the_exception_tree_the_daemon_sends() -> None:
    declared = error_codes(openapi_document())
    tree = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.CreddError)
        and cls is not errors.CreddError
    }
    assert declared == (tree - errors.CLIENT_ONLY_CODES) | {"method_not_allowed"}
    assert declared == errors.wire_codes() | {"method_not_allowed"}


def test_the_client_only_codes_are_left_out() -> None:
    declared = error_codes(openapi_document())
    assert not declared & {"daemon_unavailable", "daemon_timeout", "protocol_error"}
    assert {errors.DaemonUnavailable.code, errors.ProtocolError.code} <= errors.CLIENT_ONLY_CODES


def test_the_codes_the_envelope_answers_for_http_errors_are_declared() -> None:
    declared = error_codes(openapi_document())
    assert {code for code, _ in envelope._HTTP_CODES.values()} <= declared


def test_every_declared_code_comes_back_from_the_wire_as_its_class() -> None:
    for code in error_codes(openapi_document()) - {"method_not_allowed"}:
        error = errors.error_for_code(code, "message")
        assert type(error) is not errors.CreddError, code
        assert error.code == code
