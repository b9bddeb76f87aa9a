"""The `kube` kind and OpenID Connect ID tokens, sans I/O: what a kube credential may hold,
what `GET /v1/kube/{name}` answers for each kind, and ID tokens kept through refreshes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from credd.api.audit import classify as classify_request
from credd.api.models import CredentialIn, render_credential
from credd.kube.answer import kube_answer
from credd.oauth import schedule
from credd.oauth.changes import ApplyRefresh
from credd.oauth.idtoken import jwt_expiry
from credd.oauth.tokens import Granted, classify
from credd.store.records import (
    Credential,
    KubeFields,
    OAuthFields,
    StoreState,
    credential_from_dict,
    credential_to_dict,
)
from credd_client.cli.kube import ExecInfoError, exec_credential, requested_version
from credd_client.errors import ProtocolError, RefreshFailed
from credd_client.models import KubeCredential
from tests.support.certs import self_signed

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def jwt(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.c2ln"


def test_a_token_user_stores_the_token_as_its_secret() -> None:
    body = CredentialIn(kind="kube", secret="tok-123")
    credential = body.to_credential("kube:alice")
    assert credential.kube == KubeFields()
    assert kube_answer(credential, NOW).token == "tok-123"
    assert render_credential(credential, with_secret=True)["secret"] == "tok-123"


def test_a_certificate_user_keeps_certificate_and_key_and_never_renders_the_key() -> None:
    pair = self_signed("alice")
    credential = CredentialIn(
        kind="kube", secret=pair.key_pem, client_certificate=pair.certificate_pem
    ).to_credential("kube:alice")
    rendered = json.dumps(render_credential(credential, with_secret=True))
    assert "PRIVATE KEY" not in rendered
    assert pair.certificate_pem.strip().splitlines()[1] in rendered
    answer = kube_answer(credential, NOW)
    assert (answer.client_certificate, answer.client_key) == (pair.certificate_pem, pair.key_pem)
    assert answer.token is None
    assert "PRIVATE" not in repr(credential) + repr(answer)
    assert credential_from_dict(credential_to_dict(credential)) == credential


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"secret": "two words"}, "one line of printable characters"),
        ({"secret": "tok", "expires_at": NOW}, "takes no expires_at"),
        ({"secret": "tok", "client_certificate": "nope"}, "not a PEM certificate"),
        ({"secret": "tok", "client_certificate": "CERT"}, "private key in PEM"),
        ({"secret": "KEY", "client_certificate": "CERT"}, "does not belong"),
        ({"secret": "tok", "token_endpoint": "https://x"}, "belong to kind 'oauth2'"),
    ],
)
def test_a_malformed_kube_body_is_refused_without_quoting_it(
    fields: dict[str, object], message: str
) -> None:
    mine, other = self_signed("mine"), self_signed("other")
    values = {
        key: {"CERT": mine.certificate_pem, "KEY": other.key_pem}.get(str(value), value)
        for key, value in fields.items()
    }
    with pytest.raises(ValidationError) as caught:
        CredentialIn(kind="kube", **values)  # type: ignore[arg-type]
    text = str(caught.value.errors()[0]["msg"])
    assert message in text
    assert "BEGIN" not in text


def test_a_certificate_on_another_kind_is_refused() -> None:
    with pytest.raises(ValidationError, match="belongs to kind 'kube'"):
        CredentialIn(kind="secret", secret="s", client_certificate="x")


def test_jwt_expiry_reads_exp_and_shrugs_at_anything_else() -> None:
    assert jwt_expiry(jwt({"exp": 1_800_000_000})) == datetime.fromtimestamp(1_800_000_000, UTC)
    for token in ("opaque", "a.b.c", jwt({"exp": "soon"}), jwt({"exp": True}), jwt({})):
        assert jwt_expiry(token) is None


def oidc(id_token: str | None, id_expiry: datetime | None, **oauth: object) -> Credential:
    fields = OAuthFields(
        token_endpoint="https://issuer/token",
        client_id="kubernetes",
        refresh_token="rt",
        expires_at=NOW + timedelta(hours=1),
        id_token=id_token,
        id_token_expires_at=id_expiry,
        **oauth,  # type: ignore[arg-type]
    )
    return Credential(name="kube:oidc", kind="oauth2", secret="access", oauth=fields)


def test_an_oidc_login_serves_its_id_token_with_its_expiry() -> None:
    expiry = NOW + timedelta(minutes=5)
    answer = kube_answer(oidc("id-1", expiry), NOW)
    assert (answer.token, answer.expires_at) == ("id-1", expiry)


def test_an_oauth_credential_without_id_token_serves_its_access_token() -> None:
    answer = kube_answer(oidc(None, None), NOW)
    assert (answer.token, answer.expires_at) == ("access", NOW + timedelta(hours=1))


def test_an_expired_id_token_is_refresh_failed_naming_the_last_error() -> None:
    credential = oidc("id-1", NOW - timedelta(seconds=1), last_error="the issuer said no")
    with pytest.raises(RefreshFailed, match="the issuer said no") as caught:
        kube_answer(credential, NOW)
    assert "id-1" not in caught.value.message


def test_a_refresh_keeps_the_id_token_unless_the_answer_brings_a_new_one() -> None:
    state = StoreState(credentials={"kube:oidc": oidc("id-1", NOW)})

    def refreshed(id_token: str | None) -> OAuthFields:
        change = ApplyRefresh(
            name="kube:oidc",
            used_refresh_token="rt",
            access_token="access-2",
            id_token=id_token,
            id_token_expires_at=None if id_token is None else NOW + timedelta(hours=2),
        )
        oauth = change.apply(state).credentials["kube:oidc"].oauth
        assert oauth is not None
        return oauth

    assert (refreshed(None).id_token, refreshed(None).id_token_expires_at) == ("id-1", NOW)
    assert refreshed("id-2").id_token == "id-2"


def test_the_token_endpoint_answer_carries_the_id_token() -> None:
    body = json.dumps({"access_token": "a", "id_token": "i", "expires_in": 60}).encode()
    outcome = classify(200, body)
    assert isinstance(outcome, Granted)
    assert outcome.grant.id_token == "i"
    assert "'i'" not in repr(outcome)


def test_the_refresh_comes_before_whichever_token_dies_first() -> None:
    soon, later = NOW + timedelta(minutes=1), NOW + timedelta(hours=1)
    assert schedule.renew_by(later, soon) == soon
    assert schedule.renew_by(soon, later) == soon
    assert schedule.renew_by(None, soon) == soon
    assert schedule.renew_by(later, None) == later


def test_credd_kube_reads_are_audited_with_their_name() -> None:
    assert classify_request("GET", b"/v1/kube/kube%3Aalice") == ("kube", "kube:alice")
    assert classify_request("PUT", b"/v1/kube/x") == ("unknown", "x")


@pytest.mark.parametrize(
    ("exec_info", "version"),
    [
        (None, "client.authentication.k8s.io/v1"),
        ("", "client.authentication.k8s.io/v1"),
        (
            '{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",'
            ' "spec": {"interactive": false}}',
            "client.authentication.k8s.io/v1beta1",
        ),
    ],
)
def test_the_plugin_answers_the_version_asked(exec_info: str | None, version: str) -> None:
    assert requested_version(exec_info) == version


@pytest.mark.parametrize(
    ("exec_info", "message"),
    [
        ("{", "not JSON"),
        ('{"apiVersion": "client.authentication.k8s.io/v1"}', "not an ExecCredential request"),
        ('{"apiVersion": "v2", "kind": "ExecCredential"}', 'apiVersion "v2"; credd kube answers'),
        ('{"kind": "ExecCredential"}', "apiVersion none"),
    ],
)
def test_the_plugin_refuses_what_it_cannot_answer(exec_info: str, message: str) -> None:
    with pytest.raises(ExecInfoError, match=message):
        requested_version(exec_info)


def test_the_exec_credential_for_a_token_and_for_a_certificate() -> None:
    token = KubeCredential.from_json(
        {"name": "n", "token": "t", "expires_at": "2026-01-02T03:04:05.678901Z"}
    )
    assert exec_credential("v", token)["status"] == {
        "token": "t",
        "expirationTimestamp": "2026-01-02T03:04:05Z",
    }
    certificate = KubeCredential.from_json(
        {"name": "n", "client_certificate": "C", "client_key": "K", "token": None}
    )
    assert exec_credential("v", certificate) == {
        "apiVersion": "v",
        "kind": "ExecCredential",
        "status": {"clientCertificateData": "C", "clientKeyData": "K"},
    }
    assert "'K'" not in repr(certificate)
    with pytest.raises(ProtocolError, match="neither a token nor"):
        KubeCredential.from_json({"name": "n", "client_certificate": "C"})
