from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.member_role_update import MemberRoleUpdate
from ...types import Response


def _get_kwargs(
    org_id: int,
    user_id: int,
    *,
    body: MemberRoleUpdate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/api/v1/orgs/{org_id}/members/{user_id}".format(
            org_id=quote(str(org_id), safe=""),
            user_id=quote(str(user_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | ErrorResponse | None:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    org_id: int,
    user_id: int,
    *,
    client: AuthenticatedClient,
    body: MemberRoleUpdate,
) -> Response[Any | ErrorResponse]:
    """Change a member's role

     Permission `members:manage`; nobody grants or changes a role beyond their own (only owners make
    owners). 409 `organization_last_owner` when the last owner would be demoted; 422
    `organization_unknown_role`.

    Args:
        org_id (int):
        user_id (int):
        body (MemberRoleUpdate): The new role of a member.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorResponse]
    """

    kwargs = _get_kwargs(
        org_id=org_id,
        user_id=user_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    org_id: int,
    user_id: int,
    *,
    client: AuthenticatedClient,
    body: MemberRoleUpdate,
) -> Any | ErrorResponse | None:
    """Change a member's role

     Permission `members:manage`; nobody grants or changes a role beyond their own (only owners make
    owners). 409 `organization_last_owner` when the last owner would be demoted; 422
    `organization_unknown_role`.

    Args:
        org_id (int):
        user_id (int):
        body (MemberRoleUpdate): The new role of a member.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorResponse
    """

    return sync_detailed(
        org_id=org_id,
        user_id=user_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    org_id: int,
    user_id: int,
    *,
    client: AuthenticatedClient,
    body: MemberRoleUpdate,
) -> Response[Any | ErrorResponse]:
    """Change a member's role

     Permission `members:manage`; nobody grants or changes a role beyond their own (only owners make
    owners). 409 `organization_last_owner` when the last owner would be demoted; 422
    `organization_unknown_role`.

    Args:
        org_id (int):
        user_id (int):
        body (MemberRoleUpdate): The new role of a member.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorResponse]
    """

    kwargs = _get_kwargs(
        org_id=org_id,
        user_id=user_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    org_id: int,
    user_id: int,
    *,
    client: AuthenticatedClient,
    body: MemberRoleUpdate,
) -> Any | ErrorResponse | None:
    """Change a member's role

     Permission `members:manage`; nobody grants or changes a role beyond their own (only owners make
    owners). 409 `organization_last_owner` when the last owner would be demoted; 422
    `organization_unknown_role`.

    Args:
        org_id (int):
        user_id (int):
        body (MemberRoleUpdate): The new role of a member.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorResponse
    """

    return (
        await asyncio_detailed(
            org_id=org_id,
            user_id=user_id,
            client=client,
            body=body,
        )
    ).parsed
