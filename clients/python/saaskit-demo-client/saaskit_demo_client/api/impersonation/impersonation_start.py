from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.impersonation_start import ImpersonationStart
from ...models.impersonation_started import ImpersonationStarted
from ...types import Response


def _get_kwargs(
    *,
    body: ImpersonationStart,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/admin/impersonation",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | ImpersonationStarted | None:
    if response.status_code == 201:
        response_201 = ImpersonationStarted.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorResponse.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorResponse.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = ErrorResponse.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | ImpersonationStarted]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ImpersonationStart,
) -> Response[ErrorResponse | ImpersonationStarted]:
    """Act as a user (superusers)

     A token pair for the user, valid `SAASKIT_IMPERSONATION__TTL_MINUTES` at most, whose tokens name you
    in their `act` claim (RFC 8693). Used like any login's tokens, except for what only the account's
    owner may do (403 `impersonation_forbidden`). 403 `impersonation_not_allowed` for a superuser or an
    inactive user. Needs a recent login or `POST /auth/reauthenticate` (403
    `reauthentication_required`). Audited with the reason.

    Args:
        body (ImpersonationStart): Act as a user: who, and why (recorded in the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | ImpersonationStarted]
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
    client: AuthenticatedClient,
    body: ImpersonationStart,
) -> ErrorResponse | ImpersonationStarted | None:
    """Act as a user (superusers)

     A token pair for the user, valid `SAASKIT_IMPERSONATION__TTL_MINUTES` at most, whose tokens name you
    in their `act` claim (RFC 8693). Used like any login's tokens, except for what only the account's
    owner may do (403 `impersonation_forbidden`). 403 `impersonation_not_allowed` for a superuser or an
    inactive user. Needs a recent login or `POST /auth/reauthenticate` (403
    `reauthentication_required`). Audited with the reason.

    Args:
        body (ImpersonationStart): Act as a user: who, and why (recorded in the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | ImpersonationStarted
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ImpersonationStart,
) -> Response[ErrorResponse | ImpersonationStarted]:
    """Act as a user (superusers)

     A token pair for the user, valid `SAASKIT_IMPERSONATION__TTL_MINUTES` at most, whose tokens name you
    in their `act` claim (RFC 8693). Used like any login's tokens, except for what only the account's
    owner may do (403 `impersonation_forbidden`). 403 `impersonation_not_allowed` for a superuser or an
    inactive user. Needs a recent login or `POST /auth/reauthenticate` (403
    `reauthentication_required`). Audited with the reason.

    Args:
        body (ImpersonationStart): Act as a user: who, and why (recorded in the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | ImpersonationStarted]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: ImpersonationStart,
) -> ErrorResponse | ImpersonationStarted | None:
    """Act as a user (superusers)

     A token pair for the user, valid `SAASKIT_IMPERSONATION__TTL_MINUTES` at most, whose tokens name you
    in their `act` claim (RFC 8693). Used like any login's tokens, except for what only the account's
    owner may do (403 `impersonation_forbidden`). 403 `impersonation_not_allowed` for a superuser or an
    inactive user. Needs a recent login or `POST /auth/reauthenticate` (403
    `reauthentication_required`). Audited with the reason.

    Args:
        body (ImpersonationStart): Act as a user: who, and why (recorded in the audit log).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | ImpersonationStarted
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
