from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.page_audit_event_read import PageAuditEventRead
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 50,
    offset: int | Unset = 0,
    user_id: int | None | Unset = UNSET,
    action: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["offset"] = offset

    json_user_id: int | None | Unset
    if isinstance(user_id, Unset):
        json_user_id = UNSET
    else:
        json_user_id = user_id
    params["user_id"] = json_user_id

    json_action: None | str | Unset
    if isinstance(action, Unset):
        json_action = UNSET
    else:
        json_action = action
    params["action"] = json_action

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/audit",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | PageAuditEventRead | None:
    if response.status_code == 200:
        response_200 = PageAuditEventRead.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorResponse.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | PageAuditEventRead]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 50,
    offset: int | Unset = 0,
    user_id: int | None | Unset = UNSET,
    action: None | str | Unset = UNSET,
) -> Response[ErrorResponse | PageAuditEventRead]:
    """Audit:List

    Args:
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.
        user_id (int | None | Unset): Events by or about this user.
        action (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | PageAuditEventRead]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        user_id=user_id,
        action=action,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 50,
    offset: int | Unset = 0,
    user_id: int | None | Unset = UNSET,
    action: None | str | Unset = UNSET,
) -> ErrorResponse | PageAuditEventRead | None:
    """Audit:List

    Args:
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.
        user_id (int | None | Unset): Events by or about this user.
        action (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | PageAuditEventRead
    """

    return sync_detailed(
        client=client,
        limit=limit,
        offset=offset,
        user_id=user_id,
        action=action,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 50,
    offset: int | Unset = 0,
    user_id: int | None | Unset = UNSET,
    action: None | str | Unset = UNSET,
) -> Response[ErrorResponse | PageAuditEventRead]:
    """Audit:List

    Args:
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.
        user_id (int | None | Unset): Events by or about this user.
        action (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | PageAuditEventRead]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        user_id=user_id,
        action=action,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 50,
    offset: int | Unset = 0,
    user_id: int | None | Unset = UNSET,
    action: None | str | Unset = UNSET,
) -> ErrorResponse | PageAuditEventRead | None:
    """Audit:List

    Args:
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.
        user_id (int | None | Unset): Events by or about this user.
        action (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | PageAuditEventRead
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            offset=offset,
            user_id=user_id,
            action=action,
        )
    ).parsed
