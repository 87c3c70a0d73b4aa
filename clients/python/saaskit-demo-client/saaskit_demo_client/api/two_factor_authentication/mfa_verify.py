from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.mfa_verify import MfaVerify
from ...models.token_pair import TokenPair
from ...types import Response


def _get_kwargs(
    *,
    body: MfaVerify,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/mfa/verify",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | TokenPair | None:
    if response.status_code == 200:
        response_200 = TokenPair.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 413:
        response_413 = ErrorResponse.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorResponse.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = ErrorResponse.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | TokenPair]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: MfaVerify,
) -> Response[ErrorResponse | TokenPair]:
    """The second step of a login: the challenge and a code give the tokens

     `challenge_token` comes from a login's 403 `mfa_required` (`mfa_token` at the OAuth 2.0 token
    endpoint). Send `code` (authenticator app) or `recovery_code`. 401 `mfa_code_invalid` for a wrong or
    reused code (the challenge stays usable for a few tries); 401 `mfa_challenge_invalid` when it is
    unknown, expired, spent or burned by wrong codes: log in again.

    Args:
        body (MfaVerify): The second step of a login: the challenge and a code.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | TokenPair]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: MfaVerify,
) -> ErrorResponse | TokenPair | None:
    """The second step of a login: the challenge and a code give the tokens

     `challenge_token` comes from a login's 403 `mfa_required` (`mfa_token` at the OAuth 2.0 token
    endpoint). Send `code` (authenticator app) or `recovery_code`. 401 `mfa_code_invalid` for a wrong or
    reused code (the challenge stays usable for a few tries); 401 `mfa_challenge_invalid` when it is
    unknown, expired, spent or burned by wrong codes: log in again.

    Args:
        body (MfaVerify): The second step of a login: the challenge and a code.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | TokenPair
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: MfaVerify,
) -> Response[ErrorResponse | TokenPair]:
    """The second step of a login: the challenge and a code give the tokens

     `challenge_token` comes from a login's 403 `mfa_required` (`mfa_token` at the OAuth 2.0 token
    endpoint). Send `code` (authenticator app) or `recovery_code`. 401 `mfa_code_invalid` for a wrong or
    reused code (the challenge stays usable for a few tries); 401 `mfa_challenge_invalid` when it is
    unknown, expired, spent or burned by wrong codes: log in again.

    Args:
        body (MfaVerify): The second step of a login: the challenge and a code.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | TokenPair]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: MfaVerify,
) -> ErrorResponse | TokenPair | None:
    """The second step of a login: the challenge and a code give the tokens

     `challenge_token` comes from a login's 403 `mfa_required` (`mfa_token` at the OAuth 2.0 token
    endpoint). Send `code` (authenticator app) or `recovery_code`. 401 `mfa_code_invalid` for a wrong or
    reused code (the challenge stays usable for a few tries); 401 `mfa_challenge_invalid` when it is
    unknown, expired, spent or burned by wrong codes: log in again.

    Args:
        body (MfaVerify): The second step of a login: the challenge and a code.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | TokenPair
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
