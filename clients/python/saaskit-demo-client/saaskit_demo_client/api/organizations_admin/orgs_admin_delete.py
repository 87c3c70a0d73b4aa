from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.org_deleted import OrgDeleted
from ...types import Response


def _get_kwargs(
    org_id: int,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/api/v1/admin/orgs/{org_id}".format(
            org_id=quote(str(org_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | OrgDeleted | None:
    if response.status_code == 200:
        response_200 = OrgDeleted.from_dict(response.json())

        return response_200

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

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if response.status_code == 502:
        response_502 = ErrorResponse.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = ErrorResponse.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | OrgDeleted]:
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
) -> Response[ErrorResponse | OrgDeleted]:
    """Delete an organization (superusers)

     As its owner would (`DELETE /orgs/{id}`): its subscription is canceled in Stripe at once, then it is
    deleted; audited with the superuser as the actor. 404 `organization_not_found`; 503
    `billing_unavailable` (nothing deleted; call again), 502 `billing_rejected`; 409
    `organization_has_subscription` with a payment gateway that cannot cancel.

    Args:
        org_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | OrgDeleted]
    """

    kwargs = _get_kwargs(
        org_id=org_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    org_id: int,
    *,
    client: AuthenticatedClient,
) -> ErrorResponse | OrgDeleted | None:
    """Delete an organization (superusers)

     As its owner would (`DELETE /orgs/{id}`): its subscription is canceled in Stripe at once, then it is
    deleted; audited with the superuser as the actor. 404 `organization_not_found`; 503
    `billing_unavailable` (nothing deleted; call again), 502 `billing_rejected`; 409
    `organization_has_subscription` with a payment gateway that cannot cancel.

    Args:
        org_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | OrgDeleted
    """

    return sync_detailed(
        org_id=org_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    org_id: int,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorResponse | OrgDeleted]:
    """Delete an organization (superusers)

     As its owner would (`DELETE /orgs/{id}`): its subscription is canceled in Stripe at once, then it is
    deleted; audited with the superuser as the actor. 404 `organization_not_found`; 503
    `billing_unavailable` (nothing deleted; call again), 502 `billing_rejected`; 409
    `organization_has_subscription` with a payment gateway that cannot cancel.

    Args:
        org_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | OrgDeleted]
    """

    kwargs = _get_kwargs(
        org_id=org_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    org_id: int,
    *,
    client: AuthenticatedClient,
) -> ErrorResponse | OrgDeleted | None:
    """Delete an organization (superusers)

     As its owner would (`DELETE /orgs/{id}`): its subscription is canceled in Stripe at once, then it is
    deleted; audited with the superuser as the actor. 404 `organization_not_found`; 503
    `billing_unavailable` (nothing deleted; call again), 502 `billing_rejected`; 409
    `organization_has_subscription` with a payment gateway that cannot cancel.

    Args:
        org_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | OrgDeleted
    """

    return (
        await asyncio_detailed(
            org_id=org_id,
            client=client,
        )
    ).parsed
