"""The one seam to AWS STS: botocore signs and sends, and its errors are translated here.

botocore (the AWS SDKs' own request signer) is used rather than a SigV4 of credd's: the
signature is the part a server checks byte for byte, and botocore is what AWS tests it with.
Calls block, so the keeper runs them in a worker thread.

The endpoint and region are the daemon's, never a request's: `aws_endpoint_url_sts` and
`aws_region` in config.toml, else the environment the AWS SDKs read (`AWS_ENDPOINT_URL_STS`,
else `AWS_ENDPOINT_URL`; `AWS_REGION`, else `AWS_DEFAULT_REGION`), else STS in us-east-1.
An endpoint is https, or http on a loopback address only (a local test server).

Outcomes: `Session` (new keys) or `Failed` (the reason: the server's error code and words,
or the transport error's type; never a key). Every failure may be retried: STS hands out a
new session for every call, so asking again spends nothing.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

MAX_REASON = 300
DEFAULT_REGION = "us-east-1"


class EndpointRefused(ValueError):
    """The configured STS endpoint is neither https nor loopback http."""


@dataclass(frozen=True)
class Keys:
    """What STS is called with: the long-lived (or imported temporary) keys."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SessionRequest:
    keys: Keys
    duration: int
    role_arn: str | None = None
    role_session_name: str = "credd"
    mfa_serial: str | None = None
    mfa_code: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Session:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class Failed:
    reason: str


@dataclass(frozen=True)
class Endpoint:
    url: str | None  # None: botocore's own endpoint for the region
    region: str

    def describe(self) -> str:
        return urlsplit(self.url).netloc if self.url else f"STS in {self.region}"


def endpoint(
    configured_url: str | None, configured_region: str | None, environ: Mapping[str, str]
) -> Endpoint:
    url = configured_url or environ.get("AWS_ENDPOINT_URL_STS") or environ.get("AWS_ENDPOINT_URL")
    region = (
        configured_region
        or environ.get("AWS_REGION")
        or environ.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION
    )
    if url:
        check_endpoint(url)
    return Endpoint(url or None, region)


def check_endpoint(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and _loopback(parts.hostname or ""):
        return
    raise EndpointRefused(
        f"the STS endpoint {parts.scheme}://{parts.hostname or ''} is refused: "
        "it must be https (or http on a loopback address)"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BotocoreSTS:
    """STS through botocore, isolated from the user's AWS files (which call credd)."""

    def __init__(self, where: Endpoint, timeout: float) -> None:
        self.where = where
        self.timeout = timeout
        self._session: Any = None

    def _client(self, keys: Keys) -> Any:
        import botocore.config
        import botocore.session

        if self._session is None:
            session = botocore.session.Session()
            # The user's ~/.aws files may name credd itself (credential_process): never read.
            session.set_config_variable("config_file", os.devnull)
            session.set_config_variable("credentials_file", os.devnull)
            self._session = session
        config = botocore.config.Config(
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            retries={"total_max_attempts": 1},  # the keeper's backoff does the retrying
            # STS checks the duration itself; unchecked here, a local STS may grant shorter
            # sessions than AWS's 15 minutes (the tests' rotations).
            parameter_validation=False,
            user_agent_extra="credd",
        )
        return self._session.create_client(
            "sts",
            region_name=self.where.region,
            endpoint_url=self.where.url,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            aws_session_token=keys.session_token,
            config=config,
        )

    def warm(self) -> None:
        """Blocking: load botocore and its STS model now, not during a tool's first call."""
        self._client(Keys("AKIAWARMINGUP", "unused"))

    def request_session(self, request: SessionRequest) -> Session | Failed:
        """Blocking: GetSessionToken, or AssumeRole for a role ARN."""
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

        host = self.where.describe()
        arguments: dict[str, Any] = {"DurationSeconds": request.duration}
        if request.mfa_serial is not None and request.mfa_code is not None:
            arguments.update(SerialNumber=request.mfa_serial, TokenCode=request.mfa_code)
        try:
            client = self._client(request.keys)
            if request.role_arn is not None:
                answer = client.assume_role(
                    RoleArn=request.role_arn,
                    RoleSessionName=request.role_session_name,
                    **arguments,
                )
            else:
                answer = client.get_session_token(**arguments)
        except ClientError as exc:
            return Failed(f"STS at {host} answered {_client_error(exc)}")
        except ParamValidationError:
            return Failed("botocore refused the STS request's parameters (the role ARN?)")
        except BotoCoreError as exc:
            return Failed(f"cannot reach STS at {host} ({type(exc).__name__})")
        return _session(answer, host)


def _client_error(exc: Any) -> str:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = _printable(str(error.get("Code") or "an error"))
    message = _printable(str(error.get("Message") or ""))
    text = f"{code}: {message}" if message else code
    return f"{text} (HTTP {status})" if status else text


def _session(answer: Any, host: str) -> Session | Failed:
    keys: Any = answer.get("Credentials") if isinstance(answer, dict) else None
    try:
        expires_at = keys["Expiration"]
        if not isinstance(expires_at, datetime):
            raise TypeError
        return Session(
            access_key_id=str(keys["AccessKeyId"]),
            secret_access_key=str(keys["SecretAccessKey"]),
            session_token=str(keys["SessionToken"]),
            expires_at=expires_at.astimezone(UTC),
        )
    except (KeyError, TypeError):  # None, or a field missing
        return Failed(f"STS at {host} answered without usable credentials")


def _printable(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:MAX_REASON]
