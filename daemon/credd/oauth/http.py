"""The one seam to the network for refreshes: POST a token request, get (status, body).

httpx's exceptions are translated here, once, into the two that matter for a refresh token:

    NotSent     the request never left (no connection, connect timeout): safe to send again
    MaybeSent   it may have reached the server and no answer came (read timeout, the
                connection dropped): the server may have spent the refresh token

Messages name the exception type and the host only; never a token.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

import httpx

from .tokens import TokenRequest


class NotSent(Exception):
    pass


class MaybeSent(Exception):
    pass


class TokenEndpoint(Protocol):
    async def post(self, request: TokenRequest) -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


# Raised before any byte of the request reached a server.
_BEFORE_SENDING = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


class HttpxTokenEndpoint:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, headers={"User-Agent": "credd"}
        )

    async def post(self, request: TokenRequest) -> tuple[int, bytes]:
        host = urlsplit(request.url).netloc or request.url
        try:
            response = await self._client.post(
                request.url, data=dict(request.form), headers=dict(request.headers)
            )
        except _BEFORE_SENDING as exc:
            raise NotSent(
                f"cannot reach the token endpoint at {host} ({type(exc).__name__})"
            ) from None
        except (httpx.ReadTimeout, httpx.WriteTimeout):
            raise MaybeSent(
                f"the token endpoint at {host} did not answer within {self.timeout:g} s"
            ) from None
        except httpx.TransportError as exc:
            raise MaybeSent(
                f"the token endpoint at {host} gave no answer ({type(exc).__name__})"
            ) from None
        except httpx.HTTPError as exc:
            raise NotSent(f"cannot send to {host} ({type(exc).__name__})") from None
        return response.status_code, response.content

    async def aclose(self) -> None:
        await self._client.aclose()
