"""`credd kube NAME`: a Kubernetes exec credential plugin (client.authentication.k8s.io).

kubectl (and every client-go program) runs the command named in the kubeconfig's `exec` on
each start, with the `ExecCredential` request in `KUBERNETES_EXEC_INFO`, and reads the
answer from standard output: an `ExecCredential` in the same `apiVersion`, whose status holds
a token and its `expirationTimestamp` (kubectl caches it until then), or a client certificate
and key. Standard output carries that JSON and nothing else; errors go to standard error with
credd's exit codes and never hold a value. A locked credd cannot prompt here (kubectl owns
the terminal, or there is none): it exits 1 and says to run `credd unlock`.
"""

from __future__ import annotations

import json
import os
import sys

from credd_client import Client
from credd_client.errors import CreddError, Locked

TYPE_CHECKING = False  # `typing` costs milliseconds on every kubectl start
if TYPE_CHECKING:
    import argparse
    from typing import Any

API_GROUP = "client.authentication.k8s.io"
API_VERSIONS = (f"{API_GROUP}/v1", f"{API_GROUP}/v1beta1")
# What a request without KUBERNETES_EXEC_INFO (a person at a terminal) gets.
DEFAULT_VERSION = API_VERSIONS[0]


class ExecInfoError(Exception):
    """KUBERNETES_EXEC_INFO is not a request credd can answer."""


def register(commands: Any) -> None:
    kube = commands.add_parser(
        "kube",
        help="a Kubernetes exec credential plugin: print NAME's ExecCredential for kubectl",
        description="Answers the ExecCredential request in KUBERNETES_EXEC_INFO "
        f"({' or '.join(API_VERSIONS)}) with NAME's token and its expiry, or its client "
        "certificate and key. In a kubeconfig user: exec: {apiVersion: "
        f"{DEFAULT_VERSION}, command: /path/to/credd, args: [kube, NAME], "
        "interactiveMode: Never}.",
    )
    kube.add_argument("name", help="the credential: kube:USER, an OIDC login, any token")
    kube.set_defaults(run=run_kube)


def requested_version(exec_info: str | None) -> str:
    """The apiVersion the ExecCredential request asks for."""
    if exec_info is None or not exec_info.strip():
        return DEFAULT_VERSION
    try:
        request = json.loads(exec_info)
    except (ValueError, RecursionError):
        raise ExecInfoError("KUBERNETES_EXEC_INFO is not JSON") from None
    if not isinstance(request, dict) or request.get("kind") != "ExecCredential":
        raise ExecInfoError("KUBERNETES_EXEC_INFO is not an ExecCredential request")
    version = request.get("apiVersion")
    if version not in API_VERSIONS:
        shown = json.dumps(version)[:80] if isinstance(version, str) else "none"
        raise ExecInfoError(
            f"KUBERNETES_EXEC_INFO asks for apiVersion {shown}; credd kube answers "
            f"{' and '.join(API_VERSIONS)}: set one of them as the kubeconfig's exec apiVersion"
        )
    return str(version)


def exec_credential(version: str, answer: Any) -> dict[str, Any]:
    """The ExecCredential for a `KubeCredential` (the daemon's answer)."""
    status: dict[str, str] = {}
    if answer.token is not None:
        status["token"] = answer.token
        if answer.expires_at is not None:
            status["expirationTimestamp"] = _whole_seconds(answer.expires_at)
    else:
        status["clientCertificateData"] = answer.client_certificate
        status["clientKeyData"] = answer.client_key
    return {"apiVersion": version, "kind": "ExecCredential", "status": status}


def _whole_seconds(moment: str) -> str:
    """RFC 3339 without fractions (`2026-01-02T03:04:05Z`): earlier, never later."""
    head, dot, _ = moment.partition(".")
    return head + "Z" if dot else moment


def run_kube(args: argparse.Namespace) -> int:
    try:
        version = requested_version(os.environ.get("KUBERNETES_EXEC_INFO"))
    except ExecInfoError as exc:
        print(f"credd kube: {exc}", file=sys.stderr)
        return 1
    try:
        with Client() as client:
            answer = client.kube(args.name)
    except Locked:
        print("credd kube: credd is locked: run `credd unlock`", file=sys.stderr)
        return 1
    except CreddError as exc:
        print(f"credd kube: {exc.message}", file=sys.stderr)
        return exc.exit_code
    sys.stdout.write(json.dumps(exec_credential(version, answer)) + "\n")
    return 0
