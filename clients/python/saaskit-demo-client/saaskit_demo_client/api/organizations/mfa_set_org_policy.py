from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.org_mfa_policy import OrgMfaPolicy
from ...types import Response


def _get_kwargs(
    org_id: int,
    *,
    body: OrgMfaPolicy,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/orgs/{org_id}/mfa-policy".format(
            org_id=quote(str(org_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | OrgMfaPolicy | None:
    if response.status_code == 200:
        response_200 = OrgMfaPolicy.from_dict(response.json())

        return response_200

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | OrgMfaPolicy]:
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
    body: OrgMfaPolicy,
) -> Response[ErrorResponse | OrgMfaPolicy]:
    """Require (or stop requiring) 2FA of the members

     Needs the organization permission `org:update` (owners, admins) and a login session in person (403
    `impersonation_forbidden` for a superuser acting as the user). Turning it on needs 2FA on the
    caller's own account (409 `mfa_not_enabled`), so nobody locks themselves out. Members without 2FA
    then get 403 `org_mfa_required` on the organization's routes.

    Args:
        org_id (int):
        body (OrgMfaPolicy): Whether an organization requires 2FA of its members.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | OrgMfaPolicy]
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
    body: OrgMfaPolicy,
) -> ErrorResponse | OrgMfaPolicy | None:
    """Require (or stop requiring) 2FA of the members

     Needs the organization permission `org:update` (owners, admins) and a login session in person (403
    `impersonation_forbidden` for a superuser acting as the user). Turning it on needs 2FA on the
    caller's own account (409 `mfa_not_enabled`), so nobody locks themselves out. Members without 2FA
    then get 403 `org_mfa_required` on the organization's routes.

    Args:
        org_id (int):
        body (OrgMfaPolicy): Whether an organization requires 2FA of its members.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | OrgMfaPolicy
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
    body: OrgMfaPolicy,
) -> Response[ErrorResponse | OrgMfaPolicy]:
    """Require (or stop requiring) 2FA of the members

     Needs the organization permission `org:update` (owners, admins) and a login session in person (403
    `impersonation_forbidden` for a superuser acting as the user). Turning it on needs 2FA on the
    caller's own account (409 `mfa_not_enabled`), so nobody locks themselves out. Members without 2FA
    then get 403 `org_mfa_required` on the organization's routes.

    Args:
        org_id (int):
        body (OrgMfaPolicy): Whether an organization requires 2FA of its members.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | OrgMfaPolicy]
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
    body: OrgMfaPolicy,
) -> ErrorResponse | OrgMfaPolicy | None:
    """Require (or stop requiring) 2FA of the members

     Needs the organization permission `org:update` (owners, admins) and a login session in person (403
    `impersonation_forbidden` for a superuser acting as the user). Turning it on needs 2FA on the
    caller's own account (409 `mfa_not_enabled`), so nobody locks themselves out. Members without 2FA
    then get 403 `org_mfa_required` on the organization's routes.

    Args:
        org_id (int):
        body (OrgMfaPolicy): Whether an organization requires 2FA of its members.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | OrgMfaPolicy
    """

    return (
        await asyncio_detailed(
            org_id=org_id,
            client=client,
            body=body,
        )
    ).parsed
