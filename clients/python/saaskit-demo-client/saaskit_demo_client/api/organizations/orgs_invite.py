from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.invitation_create import InvitationCreate
from ...models.invitation_read import InvitationRead
from ...types import Response


def _get_kwargs(
    org_id: int,
    *,
    body: InvitationCreate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/orgs/{org_id}/invitations".format(
            org_id=quote(str(org_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | InvitationRead | None:
    if response.status_code == 201:
        response_201 = InvitationRead.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 402:
        response_402 = ErrorResponse.from_dict(response.json())

        return response_402

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

    if response.status_code == 429:
        response_429 = ErrorResponse.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | InvitationRead]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    org_id: int,
    *,
    client: AuthenticatedClient,
    body: InvitationCreate,
) -> Response[ErrorResponse | InvitationRead]:
    """Invite by email

     Permission `members:invite`, for a role within the caller's. The email is sent in the background.
    Rate limited per organization and per inviter (429). 409 `organization_already_member`; 402
    `organization_seat_limit` when every seat of the plan is taken.

    Args:
        org_id (int):
        body (InvitationCreate): An invitation to an email address, with the role it grants.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | InvitationRead]
    """

    kwargs = _get_kwargs(
        org_id=org_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    org_id: int,
    *,
    client: AuthenticatedClient,
    body: InvitationCreate,
) -> ErrorResponse | InvitationRead | None:
    """Invite by email

     Permission `members:invite`, for a role within the caller's. The email is sent in the background.
    Rate limited per organization and per inviter (429). 409 `organization_already_member`; 402
    `organization_seat_limit` when every seat of the plan is taken.

    Args:
        org_id (int):
        body (InvitationCreate): An invitation to an email address, with the role it grants.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | InvitationRead
    """

    return sync_detailed(
        org_id=org_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    org_id: int,
    *,
    client: AuthenticatedClient,
    body: InvitationCreate,
) -> Response[ErrorResponse | InvitationRead]:
    """Invite by email

     Permission `members:invite`, for a role within the caller's. The email is sent in the background.
    Rate limited per organization and per inviter (429). 409 `organization_already_member`; 402
    `organization_seat_limit` when every seat of the plan is taken.

    Args:
        org_id (int):
        body (InvitationCreate): An invitation to an email address, with the role it grants.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | InvitationRead]
    """

    kwargs = _get_kwargs(
        org_id=org_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    org_id: int,
    *,
    client: AuthenticatedClient,
    body: InvitationCreate,
) -> ErrorResponse | InvitationRead | None:
    """Invite by email

     Permission `members:invite`, for a role within the caller's. The email is sent in the background.
    Rate limited per organization and per inviter (429). 409 `organization_already_member`; 402
    `organization_seat_limit` when every seat of the plan is taken.

    Args:
        org_id (int):
        body (InvitationCreate): An invitation to an email address, with the role it grants.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | InvitationRead
    """

    return (
        await asyncio_detailed(
            org_id=org_id,
            client=client,
            body=body,
        )
    ).parsed
