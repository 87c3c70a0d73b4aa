"""What an export gathers: the :class:`Exporter` protocol and the kit's own exporters.

An exporter yields one part's records (JSON-ready dicts) as an async iterator, so a
large part is streamed into the archive page by page. The kit's exporters cover what it
holds about a user: profile, sessions, organizations and roles, API keys (never their
hashes), subscriptions, invoices (from Stripe), AI usage; the audit trail comes from the
audit feature (``Feature.exporters``). A host adds its own::

    class NotesExporter:
        name = "notes"

        async def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
            async with session_factory() as db:
                for note in await db.scalars(select(Note).where(Note.user_id == user_id)):
                    yield {"id": note.id, "text": note.text}

    PrivacyFeature(exporters=[NotesExporter()])
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.features import DataExporter
from saaskit.types import Owner

__all__ = [
    "ApiKeysExporter",
    "Exporter",
    "FeatureExporter",
    "InvitationsExporter",
    "InvoicesExporter",
    "OrganizationsExporter",
    "ProfileExporter",
    "SessionsExporter",
    "TableExporter",
]

SECRET_COLUMNS = frozenset({"hashed_password", "secret_hash", "token_hash", "restore_token_hash"})
"""Columns never exported, whatever table they are in."""


@runtime_checkable
class Exporter(Protocol):
    """One part of a user's export: ``<name>.json`` in the archive."""

    name: str
    """The part's name (a file name: letters, digits, ``_``)."""

    def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
        """The user's records, as JSON-ready dicts (datetimes are fine)."""
        ...


class FeatureExporter:
    """A feature's :class:`~saaskit.features.DataExporter` as an :class:`Exporter`.

    Uses the feature's own ``records`` (streamed) when it has one, else its ``export``.
    """

    def __init__(self, exporter: DataExporter) -> None:
        self.exporter = exporter
        self.name = exporter.name

    async def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
        """The feature's records."""
        stream = getattr(self.exporter, "records", None)
        if stream is not None:
            async for record in stream(user_id):
                yield record
            return
        for record in await self.exporter.export(user_id):
            yield record


def row_dict(row: Any, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A mapped row's columns (never :data:`SECRET_COLUMNS`)."""
    return {
        column.key: getattr(row, column.key)
        for column in row.__table__.columns
        if column.key not in SECRET_COLUMNS and column.key not in exclude
    }


class TableExporter:
    """The rows of one table that belong to the user, paged by id.

    Args:
        name: the part's name.
        model: the mapped table.
        session_factory: database sessions.
        where: the user's rows (``lambda user_id: model.user_id == user_id``).
        page_size: rows per query.
    """

    def __init__(
        self,
        name: str,
        model: type[Any],
        session_factory: async_sessionmaker[AsyncSession],
        where: Callable[[int], ColumnElement[bool]],
        page_size: int = 1000,
    ) -> None:
        self.name = name
        self.model = model
        self.session_factory = session_factory
        self.where = where
        self.page_size = page_size

    async def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
        """The user's rows, oldest first."""
        model, last = self.model, 0
        while True:
            async with self.session_factory() as db:
                rows = list(
                    await db.scalars(
                        select(model)
                        .where(self.where(user_id), model.id > last)
                        .order_by(model.id)
                        .limit(self.page_size)
                    )
                )
            for row in rows:
                yield row_dict(row)
            if len(rows) < self.page_size:
                return
            last = rows[-1].id


class ProfileExporter:
    """The user's own row (never the password hash)."""

    name = "profile"

    def __init__(self, load: Callable[[int], Any]) -> None:
        self.load = load

    async def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
        """One record: the user's columns, the host's own included."""
        user = await self.load(user_id)
        if user is not None:
            yield row_dict(user)


class SessionLister(Protocol):
    """The user's login sessions (:class:`saaskit.auth.sessions.SessionManager`)."""

    async def for_user(self, user_id: int) -> list[Any]:
        """The live sessions, newest first."""
        ...


class SessionsExporter:
    """The user's live login sessions: when, from where, with what (no token material)."""

    name = "sessions"

    def __init__(self, sessions: SessionLister) -> None:
        self.sessions = sessions

    async def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
        """One record per session."""
        for session in await self.sessions.for_user(user_id):
            yield {
                "id": session.id,
                "created_at": session.created_at,
                "last_used_at": session.last_used_at,
                "expires_at": session.expires_at,
                "ip": session.ip,
                "user_agent": session.user_agent,
            }


class OrganizationsExporter:
    """The organizations the user belongs to, with their role (invitations: the next one)."""

    name = "organizations"

    def __init__(
        self, tables: Mapping[str, type[Any]], session_factory: async_sessionmaker[AsyncSession]
    ) -> None:
        self.org = tables["organization"]
        self.member = tables["membership"]
        self.invitation = tables["invitation"]
        self.session_factory = session_factory

    async def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
        """One record per membership (organization, role, since when)."""
        org, member = self.org, self.member
        async with self.session_factory() as db:
            rows = (
                await db.execute(
                    select(org.id, org.name, org.slug, member.role, member.joined_at)
                    .join(member, member.organization_id == org.id)
                    .where(member.user_id == user_id)
                    .order_by(org.id)
                )
            ).all()
        for org_id, name, slug, role, joined_at in rows:
            yield {
                "organization_id": org_id,
                "name": name,
                "slug": slug,
                "role": role,
                "joined_at": joined_at,
            }


class InvitationsExporter:
    """Invitations into organizations sent to the user's address (pending, accepted or not).

    Matched by address, case-insensitively: an invitation names an address, not an
    account, and may predate the account.
    """

    name = "invitations"

    def __init__(
        self,
        tables: Mapping[str, type[Any]],
        user_model: type[Any],
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        self.org = tables["organization"]
        self.invitation = tables["invitation"]
        self.user = user_model
        self.session_factory = session_factory

    async def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
        """One record per invitation (organization, role, dates; never its token)."""
        org, invitation, user = self.org, self.invitation, self.user
        address = select(func.lower(user.email)).where(user.id == user_id).scalar_subquery()
        async with self.session_factory() as db:
            rows = (
                await db.execute(
                    select(invitation, org.name)
                    .join(org, org.id == invitation.organization_id)
                    .where(func.lower(invitation.email) == address)
                    .order_by(invitation.id)
                )
            ).all()
        for found, org_name in rows:
            yield {
                "organization_id": found.organization_id,
                "organization_name": org_name,
                "email": found.email,
                "role": found.role,
                "invited_by": found.invited_by,
                "created_at": found.created_at,
                "expires_at": found.expires_at,
                "accepted_at": found.accepted_at,
                "revoked_at": found.revoked_at,
            }


class ApiKeysExporter:
    """The user's API keys, personal and the organization keys they created (metadata only)."""

    name = "api_keys"

    def __init__(self, table: type[Any], session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.table = table
        self.session_factory = session_factory

    async def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
        """One record per key (its public id, name, scopes, dates; never the hash)."""
        async with self.session_factory() as db:
            rows = await db.scalars(
                select(self.table).where(self.table.user_id == user_id).order_by(self.table.id)
            )
            for row in rows:
                yield row.as_dict()


def owned_by_user(model: type[Any]) -> Callable[[int], ColumnElement[bool]]:
    """Rows of ``model`` whose ``user_id`` is the user, or whose owner is the user."""

    def where(user_id: int) -> ColumnElement[bool]:
        return or_(
            model.user_id == user_id, (model.owner_kind == "user") & (model.owner_id == user_id)
        )

    return where


class InvoiceSource(Protocol):
    """The owner's customer and its invoices (the billing feature)."""

    async def customer_id(self, owner: Owner) -> str | None:
        """The owner's Stripe customer, if any (never calls Stripe)."""
        ...

    async def list_invoices(
        self, customer_id: str, *, limit: int, starting_after: str | None
    ) -> Any:
        """A page of invoices (``invoices``, ``has_more``), newest first."""
        ...


class InvoicesExporter:
    """The user's invoices, from Stripe (through the billing gateway), page by page.

    Stripe being down raises :class:`~saaskit.exceptions.BillingUnavailable`: the export
    task is retried by the runner rather than finishing without invoices.
    """

    name = "invoices"
    PAGE = 100

    def __init__(self, source: InvoiceSource) -> None:
        self.source = source

    async def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
        """One record per invoice, newest first."""
        customer_id = await self.source.customer_id(Owner.user(user_id))
        if customer_id is None:
            return
        after: str | None = None
        while True:
            page = await self.source.list_invoices(
                customer_id, limit=self.PAGE, starting_after=after
            )
            for invoice in page.invoices:
                yield dataclasses.asdict(invoice)
            if not page.has_more or not page.invoices:
                return
            after = page.invoices[-1].id
