from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_key_create import ApiKeyCreate
from ...models.api_key_created import ApiKeyCreated
from ...models.error_response import ErrorResponse
from ...types import Response


def _get_kwargs(
    *,
    body: ApiKeyCreate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/api-keys",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiKeyCreated | ErrorResponse | None:
    if response.status_code == 201:
        response_201 = ApiKeyCreated.from_dict(response.json())

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

    if response.status_code == 409:
        response_409 = ErrorResponse.from_dict(response.json())

        return response_409

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
) -> Response[ApiKeyCreated | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ApiKeyCreate,
) -> Response[ApiKeyCreated | ErrorResponse]:
    """Create a personal API key

     The key is in the answer's `key`, shown this once. Needs a login session with a recent password
    proof (403 `reauthentication_required`). 422 `api_key_scope_invalid` for a scope the app does not
    declare; 409 `api_key_limit` past the number of live keys allowed.

    Args:
        body (ApiKeyCreate): A new key: its name, scopes and optional expiry.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiKeyCreated | ErrorResponse]
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
    body: ApiKeyCreate,
) -> ApiKeyCreated | ErrorResponse | None:
    """Create a personal API key

     The key is in the answer's `key`, shown this once. Needs a login session with a recent password
    proof (403 `reauthentication_required`). 422 `api_key_scope_invalid` for a scope the app does not
    declare; 409 `api_key_limit` past the number of live keys allowed.

    Args:
        body (ApiKeyCreate): A new key: its name, scopes and optional expiry.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiKeyCreated | ErrorResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ApiKeyCreate,
) -> Response[ApiKeyCreated | ErrorResponse]:
    """Create a personal API key

     The key is in the answer's `key`, shown this once. Needs a login session with a recent password
    proof (403 `reauthentication_required`). 422 `api_key_scope_invalid` for a scope the app does not
    declare; 409 `api_key_limit` past the number of live keys allowed.

    Args:
        body (ApiKeyCreate): A new key: its name, scopes and optional expiry.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiKeyCreated | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: ApiKeyCreate,
) -> ApiKeyCreated | ErrorResponse | None:
    """Create a personal API key

     The key is in the answer's `key`, shown this once. Needs a login session with a recent password
    proof (403 `reauthentication_required`). 422 `api_key_scope_invalid` for a scope the app does not
    declare; 409 `api_key_limit` past the number of live keys allowed.

    Args:
        body (ApiKeyCreate): A new key: its name, scopes and optional expiry.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiKeyCreated | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
